"""What every write to a repository announces: bus events and push hooks.

Each path that moves a ref (commits, files, branches, tags, merges) calls
``record_push`` or ``record_tag_push`` after the ref moved. Listeners on the
state's event bus run first, then the push webhook is queued.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import entities
from bot.sandbox.git import ZERO_SHA, CommitInfo, Repository
from bot.sandbox.http import project_path
from bot.sandbox.protection import is_protected
from bot.sandbox.records import Project, User

MAX_HOOK_COMMITS = 20


def _changed_paths(repo: Repository, commit: CommitInfo) -> dict[str, list[str]]:
    parent = commit.parent_ids[0] if commit.parent_ids else None
    args = ["diff-tree", "-r", "--no-commit-id", "--name-status", "-z"]
    args += [parent, commit.id] if parent else ["--root", commit.id]
    fields = [f for f in repo.out(args).split("\0") if f]
    changed: dict[str, list[str]] = {"added": [], "modified": [], "removed": []}
    keys = {"A": "added", "M": "modified", "D": "removed", "T": "modified"}
    for status, path in zip(fields[0::2], fields[1::2], strict=False):
        changed[keys.get(status[0], "modified")].append(path)
    return changed


def _hook_commit(state: Any, project: Project, commit: CommitInfo) -> dict[str, Any]:
    url = f"{state.base_url}/{project_path(state, project)}/-/commit/{commit.id}"
    return {
        "id": commit.id,
        "message": commit.message,
        "title": commit.title,
        "timestamp": commit.committed_date.isoformat(timespec="seconds"),
        "url": url,
        "author": {"name": commit.author_name, "email": commit.author_email},
        **_changed_paths(state.repo(project), commit),
    }


def push_payload(
    state: Any, project: Project, user: User, ref: str, before: str, after: str
) -> dict[str, Any]:
    """Return the body of a Push Hook or Tag Push Hook for one ref update."""
    repo = state.repo(project)
    is_tag = ref.startswith("refs/tags/")
    commits: list[CommitInfo] = []
    if after != ZERO_SHA and not is_tag:
        if before == ZERO_SHA:
            # A new branch lists the commits that no other branch has.
            branch = ref.removeprefix("refs/heads/")
            others = ["--not", f"--exclude={branch}", "--branches"]
            commits = repo.log(after, reverse=True, extra=others)
        else:
            commits = repo.log(after, exclude=before, reverse=True)
    name = ref.split("/", 2)[-1]
    return {
        "object_kind": "tag_push" if is_tag else "push",
        "event_name": "tag_push" if is_tag else "push",
        "before": before,
        "after": after,
        "ref": ref,
        "ref_protected": False if is_tag else is_protected(state, project, name),
        "checkout_sha": None if after == ZERO_SHA else after,
        "message": None,
        "user_id": user.id,
        "user_name": user.name,
        "user_username": user.username,
        "user_email": user.email,
        "user_avatar": entities.avatar_url(user),
        "project_id": project.id,
        "project": entities.hook_project(state, project),
        "commits": [
            _hook_commit(state, project, c) for c in commits[-MAX_HOOK_COMMITS:]
        ],
        "total_commits_count": len(commits),
        "push_options": {},
        "repository": entities.hook_repository(state, project),
    }


async def record_push(
    state: Any, project: Project, user: User, branch: str, before: str, after: str
) -> None:
    """Announce a branch update (create: before = zeros; delete: after = zeros)."""
    if after == ZERO_SHA:
        await state.emit("branch_deleted", project, branch, before)
    else:
        await state.emit("branch_updated", project, branch, before, after)
    if state.webhooks.wants(project, "push_events"):
        ref = f"refs/heads/{branch}"
        body = push_payload(state, project, user, ref, before, after)
        await state.webhooks.emit(project, "Push Hook", "push_events", body)


async def record_tag_push(
    state: Any, project: Project, user: User, tag: str, sha: str
) -> None:
    """Announce a new tag."""
    await state.emit("tag_created", project, tag, sha)
    if state.webhooks.wants(project, "tag_push_events"):
        body = push_payload(state, project, user, f"refs/tags/{tag}", ZERO_SHA, sha)
        await state.webhooks.emit(project, "Tag Push Hook", "tag_push_events", body)
