"""Push and tag push hooks: delivery, headers, payload shapes, switches."""

from __future__ import annotations

import pytest

from tests.conftest import GITLAB_FIXTURES, require_shared
from tests.sandbox.shapes import OWN_SHAPES, load, shape_problems

ZERO = "0" * 40


@pytest.fixture
def hooked(make_project, hook_receiver):
    """A project with a hook for pushes and tag pushes, secret 's3cret'."""
    project = make_project("app")
    project.hooks.create(
        {
            "url": hook_receiver.url,
            "token": "s3cret",
            "push_events": True,
            "tag_push_events": True,
        }
    )
    return project


def _commit(project, branch="main", path="a.txt", **extra):
    return project.commits.create(
        {
            "branch": branch,
            "commit_message": f"add {path}",
            "actions": [{"action": "create", "file_path": path, "content": "a\n"}],
            **extra,
        }
    )


def test_commit_sends_a_push_hook_with_gitlab_headers(sandbox, hooked, hook_receiver):
    """A commit posts a Push Hook carrying GitLab's delivery headers."""
    before = hooked.branches.get("main").commit["id"]

    commit = _commit(hooked)
    sandbox.drain_webhooks()

    [delivery] = hook_receiver.events("Push Hook")
    headers, body = delivery.headers, delivery.body
    assert headers["X-Gitlab-Token"] == "s3cret"
    assert headers["User-Agent"].startswith("GitLab/")
    assert headers["X-Gitlab-Instance"] == sandbox.url
    for name in ("X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID", "Idempotency-Key"):
        assert len(headers[name]) == 36
    assert (body["before"], body["after"], body["ref"]) == (
        before,
        commit.id,
        "refs/heads/main",
    )
    assert body["ref_protected"] is True
    assert body["total_commits_count"] == 1
    assert body["commits"][0]["added"] == ["a.txt"]
    assert body["user_username"] == "root"


def test_push_body_matches_our_shape(sandbox, hooked, hook_receiver) -> None:
    """The push body has the keys and types of our own push example."""
    _commit(hooked)
    sandbox.drain_webhooks()

    [delivery] = hook_receiver.events("Push Hook")
    assert shape_problems(delivery.body, load(OWN_SHAPES / "push_event.json")) == []


def test_push_body_matches_gitlab_fixture(sandbox, hooked, hook_receiver) -> None:
    """The push body has the keys and types of GitLab's documented example."""
    fixture = require_shared(GITLAB_FIXTURES) / "webhooks" / "push_event.json"
    _commit(hooked)
    sandbox.drain_webhooks()

    [delivery] = hook_receiver.events("Push Hook")
    assert shape_problems(delivery.body, load(fixture)) == []


def test_tag_push_matches_shapes(sandbox, hooked, hook_receiver) -> None:
    """A new tag sends a Tag Push Hook shaped like ours and GitLab's example."""
    head = hooked.branches.get("main").commit["id"]

    hooked.tags.create({"tag_name": "v1", "ref": "main"})
    sandbox.drain_webhooks()

    [delivery] = hook_receiver.events("Tag Push Hook")
    body = delivery.body
    assert (body["before"], body["after"], body["ref"]) == (ZERO, head, "refs/tags/v1")
    assert shape_problems(body, load(OWN_SHAPES / "tag_push_event.json")) == []
    fixture = GITLAB_FIXTURES / "webhooks" / "tag_push_event.json"
    if fixture.exists():
        assert shape_problems(body, load(fixture)) == []


def test_branch_create_and_delete_send_pushes(sandbox, hooked, hook_receiver) -> None:
    """Creating a branch has before = zeros, deleting it after = zeros."""
    head = hooked.branches.get("main").commit["id"]

    hooked.branches.create({"branch": "topic", "ref": "main"})
    hooked.branches.delete("topic")
    sandbox.drain_webhooks()

    created, deleted = (d.body for d in hook_receiver.events("Push Hook"))
    assert (created["before"], created["after"], created["commits"]) == (ZERO, head, [])
    assert (deleted["before"], deleted["after"]) == (head, ZERO)
    assert deleted["checkout_sha"] is None


def test_every_write_path_pushes_in_order(sandbox, hooked, hook_receiver) -> None:
    """Files API, commits API and branch writes deliver in the order made."""
    hooked.files.create(
        {"file_path": "f", "branch": "main", "content": "f", "commit_message": "file"}
    )
    _commit(hooked, "topic", "t", start_branch="main")
    hooked.files.update(
        "f", {"branch": "main", "content": "g", "commit_message": "upd"}
    )
    hooked.files.delete(file_path="f", branch="main", commit_message="del")
    sandbox.drain_webhooks()

    refs = [d.body["ref"] for d in hook_receiver.events("Push Hook")]
    titles = [d.body["commits"][-1]["title"] for d in hook_receiver.events("Push Hook")]
    assert refs == [
        "refs/heads/main",
        "refs/heads/topic",
        "refs/heads/main",
        "refs/heads/main",
    ]
    assert titles == ["file", "add t", "upd", "del"]


def test_switched_off_events_are_not_sent(sandbox, make_project, hook_receiver) -> None:
    """A hook without push_events receives no Push Hook."""
    project = make_project("app")
    project.hooks.create(
        {"url": hook_receiver.url, "push_events": False, "merge_requests_events": True}
    )

    _commit(project)
    sandbox.drain_webhooks()

    assert hook_receiver.received == []


def test_branch_filter_limits_push_hooks(sandbox, make_project, hook_receiver) -> None:
    """push_events_branch_filter delivers only matching branches."""
    project = make_project("app")
    project.hooks.create(
        {"url": hook_receiver.url, "push_events_branch_filter": "release/*"}
    )

    _commit(project, "feature", "a", start_branch="main")
    _commit(project, "release/1", "b", start_branch="main")
    sandbox.drain_webhooks()

    assert [d.body["ref"] for d in hook_receiver.received] == ["refs/heads/release/1"]


def test_no_token_header_without_a_secret(sandbox, make_project, hook_receiver):
    """A hook without a secret gets no X-Gitlab-Token header."""
    project = make_project("app")
    project.hooks.create({"url": hook_receiver.url})

    _commit(project)
    sandbox.drain_webhooks()

    assert "X-Gitlab-Token" not in hook_receiver.received[0].headers


def test_deliveries_are_logged_with_the_token_redacted(
    gl, sandbox, hooked, hook_receiver
) -> None:
    """GET /-/sandbox/webhooks lists each attempt and its response."""
    _commit(hooked)
    sandbox.drain_webhooks()

    log = gl.http_get(f"{sandbox.url}/-/sandbox/webhooks")

    [entry] = log
    assert entry["event"] == "Push Hook"
    assert entry["response_status"] == 200
    assert entry["request_headers"]["X-Gitlab-Token"] == "[REDACTED]"


def test_listeners_hear_branch_events(sandbox, make_project) -> None:
    """The event bus reports updates, creations and deletions of branches."""
    project = make_project("app")
    heard: list[tuple] = []
    sandbox.call(
        lambda: sandbox.state.on(
            "branch_updated", lambda p, b, old, new: heard.append(("upd", b, old, new))
        )
    )
    sandbox.call(
        lambda: sandbox.state.on(
            "branch_deleted", lambda p, b, old: heard.append(("del", b, old))
        )
    )
    head = project.branches.get("main").commit["id"]

    commit = _commit(project)
    project.branches.create({"branch": "x", "ref": "main"})
    project.branches.delete("x")

    assert heard == [
        ("upd", "main", head, commit.id),
        ("upd", "x", ZERO, commit.id),
        ("del", "x", commit.id),
    ]
