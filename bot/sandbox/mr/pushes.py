"""Merge requests follow their branches: the core's branch events land here.

A push to a source branch moves the MR's ``sha`` and ``diff_refs``, adds a
system note listing the new commits, resets approvals on premium when the
project says so, and sends an ``update`` hook with ``oldrev``. A push to a
target branch only re-checks mergeability (conflicts, rebase need).
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.git import ZERO_SHA
from bot.sandbox.mr import approvals, core, service, views
from bot.sandbox.mr.model import APPROVALS, MERGE_REQUESTS, MergeRequest
from bot.sandbox.records import Project

MAX_LISTED_COMMITS = 20


def listen(state: Any) -> None:
    """Subscribe the MR part to the core's branch events."""

    async def updated(project: Project, branch: str, before: str, after: str) -> None:
        await on_branch_updated(state, project, branch, before, after)

    async def deleted(project: Project, branch: str, before: str) -> None:
        on_branch_deleted(state, project, branch)

    state.on("branch_updated", updated)
    state.on("branch_deleted", deleted)


def open_mrs(state: Any, project: Project) -> list[MergeRequest]:
    """The open merge requests of ``project``."""
    return state.store.find(MERGE_REQUESTS, project_id=project.id, state="opened")


async def on_branch_updated(
    state: Any, project: Project, branch: str, before: str, after: str
) -> None:
    """Refresh every open MR whose source or target is ``branch``."""
    for mr in open_mrs(state, project):
        if mr.source_branch == branch and mr.sha != after:
            await source_pushed(state, project, mr, after)
        elif mr.target_branch == branch:
            views.refresh(state, project, mr, source_moved=False)


async def source_pushed(
    state: Any, project: Project, mr: MergeRequest, after: str
) -> None:
    """New commits on the source branch: note, reset approvals, hook."""
    oldrev = mr.sha
    views.refresh(state, project, mr, source_moved=True)
    note = commits_note(state, project, oldrev, mr)
    service.system_note(state, mr, mr.author_id, note)
    if core.is_premium(state) and project.reset_approvals_on_push:
        for approval in approvals.approvals_of(state, mr):
            state.store.delete(APPROVALS, approval.id)

    service.touch(mr)
    pusher = core.user(state, mr.author_id)
    if pusher is not None:
        await service.emit_mr(
            state, project, mr, pusher, "update", oldrev=oldrev or ZERO_SHA
        )


def commits_note(
    state: Any, project: Project, before: str | None, mr: MergeRequest
) -> str:
    """``added 2 commits`` with one line per commit (at most 20 listed)."""
    repo = core.repository(state, project)
    after = mr.sha or ZERO_SHA
    forced = before is None or not repo.is_ancestor(before, after)
    exclude = mr.start_sha if forced else before
    commits = repo.log(after, exclude=exclude, max_count=MAX_LISTED_COMMITS)
    count = len(commits)
    lines = [f"* {info.id[:8]} - {info.title}" for info in commits]
    noun = "commit" if count == 1 else "commits"
    return f"added {count} {noun}\n\n" + "\n".join(lines)


def on_branch_deleted(state: Any, project: Project, branch: str) -> None:
    """A vanished source or target branch blocks its MRs (``commits_status``)."""
    for mr in open_mrs(state, project):
        if branch in (mr.source_branch, mr.target_branch):
            views.refresh(state, project, mr, source_moved=False)
