"""Merge requests follow their branches: the core's branch events land here.

A push to a source branch moves the MR's ``sha`` and ``diff_refs``, adds a
system note listing the new commits, resets approvals on premium when the
project says so, and sends an ``update`` hook with ``oldrev``. A push to a
target branch only re-checks mergeability (conflicts, rebase need).
"""

from __future__ import annotations

import html
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
    """GitLab's ``added 2 commits`` note: an HTML list and a compare link.

    Checked 2026-12-03 against SystemNotes::CommitService#add_commits. Known
    gaps: commits already in the MR before a force push are not summarised
    on their own line, and the link carries no ``diff_id`` of the version.
    """
    repo = core.repository(state, project)
    after = mr.sha or ZERO_SHA
    forced = before is None or not repo.is_ancestor(before, after)
    exclude = mr.start_sha if forced else before
    commits = repo.log(after, exclude=exclude, max_count=MAX_LISTED_COMMITS)
    items = "".join(
        f"<li>{info.id[:8]} - {html_escape(info.title)}</li>" for info in commits
    )
    noun = "commit" if len(commits) == 1 else "commits"
    path = f"/{core.project_path(state, project)}/-/merge_requests/{mr.iid}/diffs"
    link = f"[Compare with previous version]({path}?start_sha={before or ''})"
    return f"added {len(commits)} {noun}\n\n<ul>{items}</ul>\n\n{link}"


def html_escape(text: str) -> str:
    """Escape as Rails' ``content_tag`` does (``'`` becomes ``&#39;``)."""
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def on_branch_deleted(state: Any, project: Project, branch: str) -> None:
    """A vanished source or target branch blocks its MRs (``commits_status``)."""
    for mr in open_mrs(state, project):
        if branch in (mr.source_branch, mr.target_branch):
            views.refresh(state, project, mr, source_moved=False)
