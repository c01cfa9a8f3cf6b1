"""The merge-request part's single door into the sandbox core.

Everything the MR modules need from the core (state, repositories, users,
hook shapes of users and projects, events) goes through here, so a change
of the core's interfaces touches one file.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from aiohttp import web

from bot.sandbox import entities, http, pushes
from bot.sandbox.git import Repository
from bot.sandbox.mr.ancestry import AncestryCache
from bot.sandbox.records import DEVELOPER, Project, ProtectedBranch, User

JSON = dict[str, Any]


def state_of(request: web.Request) -> Any:
    """The SandboxState behind ``request``."""
    return http.state_of(request)


def is_premium(state: Any) -> bool:
    """Whether the sandbox plays the premium tier (approval rules, scoped labels)."""
    return state.tier == "premium"


def repository(state: Any, project: Project) -> Repository:
    """The bare repository of ``project``."""
    return state.repo(project)


def ancestry(state: Any) -> AncestryCache:
    """The sandbox's cache of source/target ancestry (made on first use)."""
    cache = getattr(state, "mr_ancestry", None)
    if cache is None:
        cache = state.mr_ancestry = AncestryCache()
    return cache


def user(state: Any, user_id: int | None) -> User | None:
    """The user ``user_id``, or None."""
    if user_id is None:
        return None
    return state.store.get("users", user_id)


def user_basic(state: Any, record: User | None) -> JSON | None:
    """A user as API entities embed it (``UserBasic``)."""
    if record is None:
        return None
    return entities.user_basic(state, record)


def users_basic(state: Any, ids: list[int]) -> list[JSON]:
    """``user_basic`` of every existing user in ``ids``."""
    found = (user(state, user_id) for user_id in ids)
    return [user_basic(state, record) for record in found if record is not None]


def user_hook(state: Any, record: User) -> JSON:
    """A user as webhook bodies carry it (with e-mail)."""
    return {**hook_person(state, record), "email": "[REDACTED]"}


def hook_person(state: Any, record: User) -> JSON:
    """A user as webhook ``assignees``/``reviewers`` carry it."""
    return {
        "id": record.id,
        "name": record.name,
        "username": record.username,
        "avatar_url": entities.avatar_url(record),
    }


def project_hook(state: Any, project: Project) -> JSON:
    """A project as webhook bodies carry it."""
    return entities.hook_project(state, project)


def project_path(state: Any, project: Project) -> str:
    """The full path ``group/project``."""
    return http.project_path(state, project)


def project_url(state: Any, project: Project) -> str:
    """The project's web URL."""
    return f"{state.base_url}/{project_path(state, project)}"


def access_level(state: Any, record: User | None, project: Project) -> int:
    """``record``'s access level in ``project``."""
    return http.access_level(state, record, project)


def developers(state: Any, project: Project) -> set[int]:
    """Ids of every user with at least Developer access to ``project``."""
    return {
        record.id
        for record in state.store.rows("users")
        if not record.is_admin and access_level(state, record, project) >= DEVELOPER
    }


def group_member_ids(state: Any, group_id: int) -> set[int]:
    """Ids of the direct members of group ``group_id``."""
    members = state.store.find("members", source_kind="group", source_id=group_id)
    return {member.user_id for member in members}


def protection(state: Any, project: Project, branch: str) -> ProtectedBranch | None:
    """The protected-branch rule matching ``branch``, if any."""
    for rule in state.store.find("protected_branches", project_id=project.id):
        if fnmatch.fnmatchcase(branch, rule.name):
            return rule
    return None


def can_merge_into(state: Any, record: User, project: Project, branch: str) -> bool:
    """Whether ``record`` may merge into ``branch`` (Developer, or the rule's level)."""
    level = access_level(state, record, project)
    rule = protection(state, project, branch)
    needed = DEVELOPER if rule is None else rule.merge_access_level
    return level >= max(needed, DEVELOPER)


def is_bot(record: User) -> bool:
    """Whether ``record`` is a project access token's bot user."""
    return record.bot


async def emit_hook(
    state: Any, project: Project, header: str, switch: str, body: JSON
) -> None:
    """Queue a webhook delivery for ``project``'s hooks."""
    await state.webhooks.emit(project, header, switch, body)


async def branch_moved(
    state: Any, project: Project, pusher: User, branch: str, before: str, after: str
) -> None:
    """Announce a merge's branch update or deletion as the core does for a push.

    Listeners (MRs, pipelines) and the Push Hook see it; ``after`` of 40
    zeros means the branch was deleted.
    """
    await pushes.record_push(state, project, pusher, branch, before, after)


def group_basic(state: Any, group_id: int) -> JSON | None:
    """A group as approval rules embed it, or None when it is gone."""
    group = state.store.get("groups", group_id)
    if group is None:
        return None
    return entities.group(state, group)
