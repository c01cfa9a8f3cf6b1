"""JSON renderers: the shapes GitLab answers with for users, projects,
groups, namespaces, members, commits and branches, and the smaller user and
project objects inside webhook payloads."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.sandbox.git import CommitInfo
from bot.sandbox.http import git_time, group_chain, namespace_path, project_path
from bot.sandbox.records import Group, Member, Project, User

VISIBILITY_LEVELS = {"private": 0, "internal": 10, "public": 20}


def avatar_url(user: User) -> str:
    """Return the Gravatar URL GitLab shows for a user without an avatar."""
    digest = hashlib.md5(user.email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?s=80&d=identicon"


def user_basic(state: Any, user: User) -> dict[str, Any]:
    """Return GitLab's UserBasic: id, username, name, state, avatar, web_url."""
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": user.state,
        "locked": False,
        "avatar_url": avatar_url(user),
        "web_url": f"{state.base_url}/{user.username}",
    }


def user_full(state: Any, user: User, *, private: bool) -> dict[str, Any]:
    """Return the user as /users/:id answers; ``private`` adds email and admin."""
    body = {
        **user_basic(state, user),
        "created_at": user.created_at,
        "bio": "",
        "location": "",
        "public_email": None,
        "linkedin": "",
        "twitter": "",
        "website_url": "",
        "organization": "",
        "job_title": "",
        "bot": user.bot,
    }
    if private:
        body.update(
            email=user.email,
            is_admin=user.is_admin,
            can_create_group=True,
            can_create_project=True,
            two_factor_enabled=False,
            external=False,
            private_profile=False,
            commit_email=user.email,
        )
    return body


def namespace(state: Any, kind: str, namespace_id: int) -> dict[str, Any]:
    """Return a namespace object (user or group) as projects embed it."""
    full_path = namespace_path(state, kind, namespace_id)
    if kind == "group":
        group = state.store.get("groups", namespace_id)
        name, path, parent = group.name, group.path, group.parent_id
    else:
        owner = next(
            u for u in state.store.rows("users") if u.namespace_id == namespace_id
        )
        name, path, parent = owner.name, owner.username, None
    return {
        "id": namespace_id,
        "name": name,
        "path": path,
        "kind": kind,
        "full_path": full_path,
        "parent_id": parent,
        "avatar_url": None,
        "web_url": f"{state.base_url}/{'groups/' * (kind == 'group')}{full_path}",
    }


def project(state: Any, record: Project) -> dict[str, Any]:
    """Return the project as GET /projects/:id answers."""
    full = project_path(state, record)
    space = namespace(state, record.namespace_kind, record.namespace_id)
    web_url = f"{state.base_url}/{full}"
    api = f"{state.base_url}/api/v4/projects/{record.id}"
    return {
        "id": record.id,
        "description": record.description,
        "name": record.name,
        "name_with_namespace": f"{space['name']} / {record.name}",
        "path": record.path,
        "path_with_namespace": full,
        "created_at": record.created_at,
        "last_activity_at": record.last_activity_at or record.created_at,
        "default_branch": record.default_branch
        if not state.repo(record).is_empty()
        else None,
        "visibility": record.visibility,
        "web_url": web_url,
        "http_url_to_repo": f"{web_url}.git",
        "ssh_url_to_repo": f"git@{_host(state)}:{full}.git",
        "readme_url": None,
        "avatar_url": None,
        "tag_list": [],
        "topics": [],
        "namespace": space,
        "creator_id": record.creator_id,
        "empty_repo": state.repo(record).is_empty(),
        "archived": False,
        "forks_count": 0,
        "star_count": 0,
        "open_issues_count": 0,
        "merge_requests_enabled": record.merge_requests_enabled,
        "issues_enabled": True,
        "jobs_enabled": True,
        "wiki_enabled": False,
        "snippets_enabled": False,
        "container_registry_enabled": False,
        "shared_runners_enabled": True,
        **merge_settings(record),
        "ci_config_path": None,
        "_links": {
            "self": api,
            "merge_requests": f"{api}/merge_requests",
            "repo_branches": f"{api}/repository/branches",
            "members": f"{api}/members",
        },
    }


def merge_settings(record: Project) -> dict[str, Any]:
    """Return the project settings that change how merge requests merge."""
    return {
        "merge_method": record.merge_method,
        "squash_option": record.squash_option,
        "only_allow_merge_if_pipeline_succeeds": (
            record.only_allow_merge_if_pipeline_succeeds
        ),
        "allow_merge_on_skipped_pipeline": record.allow_merge_on_skipped_pipeline,
        "only_allow_merge_if_all_discussions_are_resolved": (
            record.only_allow_merge_if_all_discussions_are_resolved
        ),
        "remove_source_branch_after_merge": record.remove_source_branch_after_merge,
        "approvals_before_merge": record.approvals_before_merge,
        "reset_approvals_on_push": record.reset_approvals_on_push,
        "merge_pipelines_enabled": record.merge_pipelines_enabled,
        "merge_trains_enabled": record.merge_trains_enabled,
    }


def _host(state: Any) -> str:
    return state.base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]


def group(state: Any, record: Group) -> dict[str, Any]:
    """Return the group as GET /groups/:id answers."""
    full = namespace_path(state, "group", record.id)
    return {
        "id": record.id,
        "name": record.name,
        "path": record.path,
        "description": record.description,
        "visibility": record.visibility,
        "full_name": " / ".join(
            g.name for g in reversed(group_chain(state, record.id))
        ),
        "full_path": full,
        "parent_id": record.parent_id,
        "created_at": record.created_at,
        "web_url": f"{state.base_url}/groups/{full}",
        "avatar_url": None,
        "request_access_enabled": True,
        "share_with_group_lock": False,
        "require_two_factor_authentication": False,
        "project_creation_level": "developer",
        "subgroup_creation_level": "maintainer",
        "default_branch": None,
    }


def member(state: Any, record: Member, user: User) -> dict[str, Any]:
    """Return a member: the user's basic fields plus access level and dates."""
    return {
        **user_basic(state, user),
        "access_level": record.access_level,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "membership_state": "active",
        "created_by": None,
    }


def commit(state: Any, project_record: Project, info: CommitInfo) -> dict[str, Any]:
    """Return a commit as the commits API answers (without stats)."""
    return {
        "id": info.id,
        "short_id": info.id[:11],
        "created_at": git_time(info.committed_date),
        "parent_ids": list(info.parent_ids),
        "title": info.title,
        "message": info.message,
        "author_name": info.author_name,
        "author_email": info.author_email,
        "authored_date": git_time(info.authored_date),
        "committer_name": info.committer_name,
        "committer_email": info.committer_email,
        "committed_date": git_time(info.committed_date),
        "trailers": {},
        "extended_trailers": {},
        "web_url": (
            f"{state.base_url}/{project_path(state, project_record)}/-/commit/{info.id}"
        ),
    }


def hook_user(state: Any, user: User) -> dict[str, Any]:
    """Return the ``user`` object of webhook payloads."""
    return {
        "id": user.id,
        "name": user.name,
        "username": user.username,
        "avatar_url": avatar_url(user),
        "email": "[REDACTED]",
    }


def hook_project(state: Any, record: Project) -> dict[str, Any]:
    """Return the ``project`` object of webhook payloads."""
    full = project_path(state, record)
    web_url = f"{state.base_url}/{full}"
    ssh = f"git@{_host(state)}:{full}.git"
    space = namespace(state, record.namespace_kind, record.namespace_id)
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "web_url": web_url,
        "avatar_url": None,
        "git_ssh_url": ssh,
        "git_http_url": f"{web_url}.git",
        "namespace": space["name"],
        "visibility_level": VISIBILITY_LEVELS.get(record.visibility, 0),
        "path_with_namespace": full,
        "default_branch": record.default_branch,
        "ci_config_path": None,
        "homepage": web_url,
        "url": ssh,
        "ssh_url": ssh,
        "http_url": f"{web_url}.git",
    }


def hook_repository(state: Any, record: Project) -> dict[str, Any]:
    """Return the ``repository`` object of push and merge request payloads."""
    full = project_path(state, record)
    web_url = f"{state.base_url}/{full}"
    return {
        "name": record.name,
        "url": f"git@{_host(state)}:{full}.git",
        "description": record.description,
        "homepage": web_url,
        "git_http_url": f"{web_url}.git",
        "git_ssh_url": f"git@{_host(state)}:{full}.git",
        "visibility_level": VISIBILITY_LEVELS.get(record.visibility, 0),
    }


def branch(
    state: Any, record: Project, name: str, info: CommitInfo, *, can_push: bool
) -> dict[str, Any]:
    """Return a branch as the branches API answers."""
    from bot.sandbox.protection import rule_for

    repo = state.repo(record)
    rule = rule_for(state, record, name)
    default = name == record.default_branch
    default_head = repo.head(record.default_branch)
    merged = (
        not default
        and default_head is not None
        and repo.is_ancestor(info.id, default_head)
    )
    return {
        "name": name,
        "commit": commit(state, record, info),
        "merged": merged,
        "protected": rule is not None,
        "default": default,
        "developers_can_push": rule is None or rule.push_access_level == 30,
        "developers_can_merge": rule is None or rule.merge_access_level == 30,
        "can_push": can_push,
        "web_url": f"{state.base_url}/{project_path(state, record)}/-/tree/{name}",
    }
