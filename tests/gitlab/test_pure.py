"""The adapter's pure parts: error mapping, encoding, reading GitLab's JSON."""

from __future__ import annotations

import base64
import json

import pytest

from bot.errors import GitLabError, InvalidInput
from bot.gitlab import (
    GitLabConflict,
    GitLabForbidden,
    GitLabNotFound,
    GitLabRejected,
    GitLabUnauthorized,
    encode,
)
from bot.gitlab.calls import CallCounter, _detail
from bot.gitlab.errors import error_for
from bot.gitlab.models import parse_approvals, parse_file, parse_merge_request
from tests.conftest import GITLAB_FIXTURES, require_shared


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, GitLabRejected),
        (401, GitLabUnauthorized),
        (403, GitLabForbidden),
        (404, GitLabNotFound),
        (405, GitLabRejected),
        (409, GitLabConflict),
        (422, GitLabRejected),
    ],
)
def test_each_definite_status_has_its_error(status: int, kind: type) -> None:
    """Every known 4xx maps to one error class that names step and detail."""
    error = error_for("fetch_file a.yaml@main", status, "404 File Not Found")

    assert type(error) is kind and isinstance(error, GitLabError)
    assert str(error) == (
        f"fetch_file a.yaml@main: GitLab answered {status}: 404 File Not Found"
    )
    assert error.exit_status == 1


@pytest.mark.parametrize(
    ("detail", "iid"),
    [
        ("Another open merge request already exists for this source branch: !12", 12),
        ("SHA does not match HEAD of source branch: abc", None),
    ],
)
def test_conflict_names_the_existing_merge_request(
    detail: str, iid: int | None
) -> None:
    """A 409 on create names the open MR of the branch; other 409s do not."""
    assert GitLabConflict("create_merge_request", 409, detail).existing_iid == iid


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("apps/my.app/values-prod.yaml", "apps%2Fmy%2Eapp%2Fvalues-prod%2Eyaml"),
        ("group/sub/project", "group%2Fsub%2Fproject"),
        ("gitops/production/web", "gitops%2Fproduction%2Fweb"),
        ("a b#c?d", "a%20b%23c%3Fd"),
        (42, "42"),
    ],
)
def test_encode_makes_one_path_segment(raw: str | int, encoded: str) -> None:
    """Slashes, dots and URL syntax are encoded into a single segment."""
    assert encode(raw) == encoded


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ("404 File Not Found", "404 File Not Found"),
        (["Another open merge request", "x"], "Another open merge request; x"),
        ({"source_branch": ["is invalid"]}, "source_branch: ['is invalid']"),
        (b"Retry later\n", "Retry later"),
        (b"", "(empty body)"),
    ],
)
def test_gitlab_messages_flatten_to_text(message: object, text: str) -> None:
    """GitLab's message (string, list, object or raw body) becomes one line."""
    assert _detail(message) == text


def test_call_counter_counts_by_route_and_status() -> None:
    """The counter keeps one count per (route, status)."""
    counter = CallCounter()
    for status in ("503", "503", "200"):
        counter.add("GET /projects/:id/repository/files/:path", status)

    assert counter.snapshot() == {
        ("GET /projects/:id/repository/files/:path", "503"): 2,
        ("GET /projects/:id/repository/files/:path", "200"): 1,
    }
    assert counter.total() == 3


def test_recorded_payloads_parse() -> None:
    """The recorded file, merge request and approvals answers read cleanly."""
    api = require_shared(GITLAB_FIXTURES / "api")
    recorded = json.loads((api / "repository_file.json").read_text())
    recorded["content"] = base64.b64encode(b"# == Schema Info\n").decode()
    file = parse_file(recorded)
    mr = parse_merge_request(
        json.loads((api / "merge_request_single.json").read_text())
    )
    approvals = parse_approvals(
        json.loads((api / "merge_request_approvals.json").read_text())
    )

    assert file.content == "# == Schema Info\n" and file.path == "app/models/key.rb"
    assert file.commit_id == recorded["commit_id"]
    assert mr.iid > 0 and mr.web_url.startswith("http")
    assert approvals.approvals_required >= 0


def test_a_file_that_is_not_text_is_refused() -> None:
    """Binary or truncated content is refused as input, naming file and ref."""
    for content in (
        "IyA9PSBTY2hlbWEgSW5mb3...",
        base64.b64encode(b"\xff\xfe").decode(),
    ):
        data = {"file_path": "a/b.yaml", "ref": "main", "commit_id": "c",
                "content": content}  # fmt: skip
        with pytest.raises(InvalidInput, match="a/b.yaml at main: not UTF-8 text"):
            parse_file(data)
