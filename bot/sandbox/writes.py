"""Writing commits onto branches, with GitLab's checks and announcements.

``commit_actions`` is the one path the commits API, the files API and
project creation (``initialize_with_readme``) share: branch and start-point
rules of ``Commits::CreateService``, push permission, the per-file
``last_commit_id`` lock, the atomic ref update, then bus events and hooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.sandbox.git import ZERO_SHA, Repository, Signature, is_full_sha
from bot.sandbox.gitcommit import Action, CommitRefused, create_commit
from bot.sandbox.http import api_error, iso
from bot.sandbox.protection import ensure_can_push, protect_default_branch
from bot.sandbox.pushes import record_push
from bot.sandbox.records import Project, User

CHANGED_SINCE = "The file has changed since you started editing it: {path}"
LOCKED_ACTIONS = frozenset({"update", "move", "delete", "chmod"})


@dataclass(frozen=True)
class CommitPlan:
    """What a caller asks to commit, before any check."""

    branch: str
    message: str
    actions: tuple[Action, ...]
    start_branch: str | None = None
    start_sha: str | None = None
    force: bool = False
    author_name: str | None = None
    author_email: str | None = None
    # The files API words the lock failure differently from the commits API.
    changed_message: str = CHANGED_SINCE


def refuse(message: str) -> web.HTTPException:
    """Return a 400 with GitLab's plain commit-failure message."""
    return api_error(400, message)


def _start_point(repo: Repository, plan: CommitPlan, empty: bool) -> str | None:
    if empty:
        return None
    if plan.start_sha:
        if not is_full_sha(plan.start_sha):
            raise refuse(f"Invalid start_sha '{plan.start_sha}'")
        if repo.resolve(plan.start_sha) != plan.start_sha:
            raise refuse(f"Cannot find start_sha '{plan.start_sha}'")
        return plan.start_sha
    start = repo.head(plan.start_branch or plan.branch)
    if start is None:
        raise refuse("You can only create or edit files when you are on a branch")
    return start


def _check_branch(repo: Repository, plan: CommitPlan, head: str | None) -> None:
    different = bool(plan.start_sha) or (
        plan.start_branch is not None and plan.start_branch != plan.branch
    )
    if different and head is not None and not plan.force:
        raise refuse(
            f"A branch called '{plan.branch}' already exists. "
            "Switch to that branch in order to make changes"
        )
    if head is None and not repo.is_valid_ref_name(plan.branch):
        raise refuse(
            f"Something went wrong when we tried to create '{plan.branch}' "
            "for you: Branch name is invalid"
        )


def _check_locks(repo: Repository, plan: CommitPlan, start: str | None) -> None:
    """GitLab's per-file optimistic lock: compare the path's last commits."""
    if start is None:
        return
    for action in plan.actions:
        if action.kind not in LOCKED_ACTIONS or not action.last_commit_id:
            continue
        path = action.previous_path if action.kind == "move" else action.path
        on_branch = repo.last_commit_for_path(start, path or "")
        given = repo.resolve(action.last_commit_id)
        at_given = repo.last_commit_for_path(given, path or "") if given else None
        if on_branch and at_given and on_branch != at_given:
            raise refuse(plan.changed_message.format(path=path))


async def commit_actions(
    state: Any, project: Project, user: User, plan: CommitPlan
) -> str:
    """Commit ``plan`` onto its branch; return the new commit id."""
    repo = state.repo(project)
    ensure_can_push(state, user, project, plan.branch)
    empty = repo.is_empty()
    head = repo.head(plan.branch)
    start = _start_point(repo, plan, empty)
    _check_branch(repo, plan, head)
    _check_locks(repo, plan, start)

    now = datetime.now(UTC)
    author = Signature(
        plan.author_name or user.name, plan.author_email or user.email, now
    )
    try:
        sha = create_commit(repo, start, list(plan.actions), plan.message, author)
    except CommitRefused as refusal:
        raise refuse(str(refusal)) from refusal
    if not repo.set_ref(f"refs/heads/{plan.branch}", sha, head):
        raise refuse(
            f"Could not update refs/heads/{plan.branch}. Please refresh and try again."
        )

    if empty:
        _adopt_first_branch(state, repo, project, plan.branch)
    project.last_activity_at = iso(now)
    await record_push(state, project, user, plan.branch, head or ZERO_SHA, sha)
    return sha


def _adopt_first_branch(
    state: Any, repo: Repository, project: Project, branch: str
) -> None:
    """The first branch pushed to an empty project becomes its default, protected."""
    project.default_branch = branch
    repo.set_default_branch(branch)
    protect_default_branch(state, project)
