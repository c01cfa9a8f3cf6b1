"""Contract tests: merge request diff versions (python-gitlab ``mr.diffs``)."""

from __future__ import annotations

import gitlab
import pytest

from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client, create_project
from tests.sandbox.mr_support import error_of, open_mr, write_file

VERSION_KEYS = {
    "id",
    "head_commit_sha",
    "base_commit_sha",
    "start_commit_sha",
    "created_at",
    "merge_request_id",
    "state",
    "real_size",
}


@pytest.fixture
def project(make_project):
    """A fresh project with a README on main."""
    return make_project("shop")


def test_creation_records_one_version_at_the_merge_requests_heads(project) -> None:
    """A new MR has one ``collected`` version naming its diff refs."""
    mr = open_mr(project)

    (version,) = mr.diffs.list()

    assert set(version.asdict()) == VERSION_KEYS
    assert version.head_commit_sha == mr.diff_refs["head_sha"] == mr.sha
    assert version.base_commit_sha == mr.diff_refs["base_sha"]
    assert version.start_commit_sha == mr.diff_refs["start_sha"]
    assert version.merge_request_id == mr.id
    assert version.state == "collected" and version.real_size == "1"
    assert version.created_at.endswith("Z")


def test_each_source_push_adds_a_version_listed_newest_first(project) -> None:
    """Two pushes make three versions; the first entry is the current head."""
    mr = open_mr(project)
    heads = [mr.sha]
    heads.append(write_file(project, "feature", "second.txt", "2\n"))
    heads.append(write_file(project, "feature", "third.txt", "3\n"))

    listed = mr.diffs.list(get_all=True)

    assert [v.head_commit_sha for v in listed] == heads[::-1]
    assert [v.id for v in listed] == sorted((v.id for v in listed), reverse=True)
    assert [v.real_size for v in listed] == ["3", "2", "1"]
    assert listed[0].created_at >= listed[-1].created_at


def test_versions_are_paginated(project) -> None:
    """``per_page`` and ``page`` walk the versions one at a time."""
    mr = open_mr(project)
    write_file(project, "feature", "second.txt", "2\n")

    first = mr.diffs.list(per_page=1, page=1)
    second = mr.diffs.list(per_page=1, page=2)

    assert len(first) == len(second) == 1
    assert first[0].id > second[0].id


def test_one_version_carries_its_commits_and_diffs(project) -> None:
    """``versions/:id`` adds the version's commits (newest first) and diffs."""
    mr = open_mr(project)
    old = mr.diffs.list()[0]
    head = write_file(project, "feature", "second.txt", "2\n")
    new = mr.diffs.list()[0]

    full = mr.diffs.get(new.id)
    earlier = mr.diffs.get(old.id)

    assert full.head_commit_sha == head
    assert [commit["id"] for commit in full.commits][0] == head
    assert len(full.commits) == 2 and len(earlier.commits) == 1
    assert sorted(diff["new_path"] for diff in full.diffs) == [
        "feature.txt",
        "second.txt",
    ]
    assert full.diffs[0]["diff"].startswith("@@")
    assert [diff["new_path"] for diff in earlier.diffs] == ["feature.txt"]


def test_an_unknown_version_or_another_merge_requests_is_not_found(project) -> None:
    """404 ``404 Not found`` for a missing id and for another MR's version."""
    first = open_mr(project)
    second = open_mr(project, branch="other")
    theirs = second.diffs.list()[0].id

    for version_id in (theirs, 999):
        with pytest.raises(gitlab.GitlabGetError) as excinfo:
            first.diffs.get(version_id)
        assert error_of(excinfo) == (404, "404 Not found")


def test_a_non_numeric_version_id_is_refused(project) -> None:
    """A version id that is not an integer is a 400 naming the parameter."""
    mr = open_mr(project)

    with pytest.raises(gitlab.GitlabGetError) as excinfo:
        mr.diffs.get("latest")

    assert error_of(excinfo) == (400, "version_id is invalid")


def test_versions_survive_a_restart_on_the_same_data_folder(tmp_path) -> None:
    """The version records persist with ``--data`` like every other record."""
    with SandboxThread(data_dir=tmp_path, root_token="glpat-root") as first:
        gl = client(first, first.root_token)
        project = create_project(gl, "app", {"a.txt": "one\n"})
        mr = open_mr(project)
        before = [v.asdict() for v in mr.diffs.list()]

    with SandboxThread(data_dir=tmp_path, root_token="glpat-root") as second:
        again = client(second, second.root_token).projects.get(project.id)
        after = [v.asdict() for v in again.mergerequests.get(mr.iid).diffs.list()]

    assert after == before and len(after) == 1
