"""Writes whose answer was lost: the merge and the note are found done, not
repeated (the sandbox's ``after`` faults answer once the write was made)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.gitlab import (
    FileAction,
    GitLab,
    GitLabConflict,
    GitLabUnavailable,
    NewMergeRequest,
    RetryPolicy,
)
from bot.sandbox.server import SandboxThread
from tests.gitlab.world import Control, adapter

MERGE = r"/merge$"
NOTES = r"/notes$"
LOST = [{"status": 502}, {"drop": True}]
DROPPED = 499  # what the request log records for a dropped connection


async def open_mr(bot: GitLab, name: str) -> tuple[int, str]:
    """Open an MR with one new file on branch ``name``; return iid and head."""
    head = (await bot.fetch_file("README.md", "main")).commit_id
    commit = await bot.commit_branch(
        name, start_sha=head, message=name, actions=[FileAction("create", name, "x")]
    )
    mr = await bot.create_merge_request(NewMergeRequest(name, "main", name, "", ()))
    return mr.iid, commit.sha


def statuses(control: Control, method: str, suffix: str) -> list[int]:
    """The statuses GitLab answered to ``method`` requests on paths ending
    with ``suffix``, oldest first (0: dropped)."""
    return [
        entry["status"]
        for entry in control.requests()
        if entry["method"] == method and entry["path"].endswith(suffix)
    ]


@pytest.mark.parametrize("fault", LOST)
async def test_merge_done_but_answer_lost_is_merged(
    bot: GitLab, control: Control, fault: dict[str, Any]
) -> None:
    """GitLab merged, the answer was lost, the retry got 405: the MR read once
    is merged at our SHA, and that is merge's answer."""
    iid, sha = await open_mr(bot, "feature/lost-merge")
    control.inject(method="PUT", path=MERGE, after=True, **fault)

    merged = await bot.merge(iid, sha)

    assert merged.state == "merged" and merged.sha == sha
    assert merged.merge_commit_sha
    assert statuses(control, "PUT", "/merge") == [fault.get("status", DROPPED), 405]


async def test_merge_done_then_unavailable_is_merged(
    sandbox: SandboxThread, project: Any, control: Control
) -> None:
    """A merge made whose retries all fail past the deadline is still found
    done by the one read after GitLabUnavailable."""
    policy = RetryPolicy(
        deadline_seconds=0.3, backoff_base_seconds=0.01, backoff_max_seconds=0.02
    )
    bot = adapter(sandbox.url, sandbox.root_token, project.path_with_namespace,
                  policy=policy)  # fmt: skip
    iid, sha = await open_mr(bot, "feature/unavailable")
    control.inject(method="PUT", path=MERGE, after=True, status=503)
    control.inject(method="PUT", path=MERGE, status=503, count=10_000)

    merged = await bot.merge(iid, sha)

    assert merged.state == "merged" and merged.merge_commit_sha
    assert set(statuses(control, "PUT", "/merge")) == {503}
    bot.close()


async def test_merge_unavailable_and_not_done_still_raises(
    sandbox: SandboxThread, project: Any, control: Control
) -> None:
    """When the merge never happened, GitLabUnavailable stays the answer and
    the MR stays open."""
    policy = RetryPolicy(
        deadline_seconds=0.2, backoff_base_seconds=0.01, backoff_max_seconds=0.02
    )
    bot = adapter(sandbox.url, sandbox.root_token, project.path_with_namespace,
                  policy=policy)  # fmt: skip
    iid, sha = await open_mr(bot, "feature/never")
    control.inject(method="PUT", path=MERGE, status=503, count=10_000)

    with pytest.raises(GitLabUnavailable, match=f"merge !{iid} at {sha[:12]}"):
        await bot.merge(iid, sha)

    assert (await bot.fetch_merge_request(iid)).state == "opened"
    bot.close()


async def test_merge_of_another_sha_is_still_refused(
    bot: GitLab, control: Control
) -> None:
    """A 409 for a SHA that is not the head reads the MR once, finds it open
    and raises the conflict."""
    iid, _ = await open_mr(bot, "feature/moved")
    other = "0" * 40

    with pytest.raises(GitLabConflict):
        await bot.merge(iid, other)

    assert control.calls()["GET /projects/:id/merge_requests/:iid"] == 1
    assert (await bot.fetch_merge_request(iid)).state == "opened"


@pytest.mark.parametrize("fault", LOST)
async def test_note_posted_but_answer_lost_is_posted_once(
    bot: GitLab, control: Control, fault: dict[str, Any]
) -> None:
    """A note whose answer was lost is found among the newest notes by the
    bot with the same body: no second note, and its id is the answer."""
    iid, _ = await open_mr(bot, "feature/lost-note")
    control.inject(method="POST", path=NOTES, after=True, **fault)

    note = await bot.post_note(iid, "Deployed `v1.2.0`.")

    notes = [n for n in await bot.fetch_notes(iid) if not n.system]
    assert [(n.id, n.body) for n in notes] == [(note.id, "Deployed `v1.2.0`.")]
    assert statuses(control, "POST", "/notes") == [fault.get("status", DROPPED)]


async def test_note_not_posted_is_posted_by_the_retry(
    bot: GitLab, control: Control
) -> None:
    """A 502 before the note was made: the check finds no such note (an older
    note by the bot with another body does not count), and the retry posts."""
    iid, _ = await open_mr(bot, "feature/retry-note")
    await bot.post_note(iid, "An older note.")
    control.inject(method="POST", path=NOTES, status=502)

    await bot.post_note(iid, "The new note.")

    bodies = [n.body for n in await bot.fetch_notes(iid) if not n.system]
    assert bodies == ["The new note.", "An older note."]
    assert statuses(control, "POST", "/notes") == [201, 502, 201]
    assert statuses(control, "GET", "/notes") == [200, 200]
