"""The records the core of the sandbox stores: users, tokens, groups, projects.

Mutable dataclasses with JSON-friendly fields (see ``store.Store``).
Timestamps are ISO strings in GitLab's format (``http.iso``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.sandbox.store import Store

GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50


@dataclass
class User:
    """A GitLab user; ``namespace_id`` is its personal namespace."""

    id: int
    username: str
    name: str
    email: str
    is_admin: bool = False
    namespace_id: int = 0
    state: str = "active"
    created_at: str = ""
    bot: bool = False  # the bot user behind a project access token


@dataclass
class Token:
    """A personal access token of a user."""

    id: int
    user_id: int
    name: str
    token: str
    scopes: list[str] = field(default_factory=list)
    expires_at: str | None = None
    revoked: bool = False
    created_at: str = ""


@dataclass
class Group:
    """A group or subgroup (``parent_id`` set); ids shared with user namespaces."""

    id: int
    name: str
    path: str
    parent_id: int | None = None
    description: str = ""
    visibility: str = "private"
    created_at: str = ""


@dataclass
class Project:
    """A project and the settings that change how merge requests merge."""

    id: int
    name: str
    path: str
    namespace_id: int
    namespace_kind: str  # "user" | "group"
    creator_id: int
    description: str = ""
    default_branch: str = "main"
    visibility: str = "private"
    created_at: str = ""
    last_activity_at: str = ""
    merge_method: str = "merge"  # merge | rebase_merge | ff
    only_allow_merge_if_pipeline_succeeds: bool = False
    allow_merge_on_skipped_pipeline: bool = False
    only_allow_merge_if_all_discussions_are_resolved: bool = False
    squash_option: str = "default_off"  # never | always | default_on | default_off
    remove_source_branch_after_merge: bool = True
    merge_requests_enabled: bool = True
    approvals_before_merge: int = 0
    reset_approvals_on_push: bool = True
    merge_pipelines_enabled: bool = False
    merge_trains_enabled: bool = False


@dataclass
class Member:
    """A direct membership of a user in a project or a group."""

    id: int
    source_kind: str  # "project" | "group"
    source_id: int
    user_id: int
    access_level: int
    created_at: str = ""
    expires_at: str | None = None
    created_by_id: int | None = None


@dataclass
class Hook:
    """A project webhook with its secret token and event switches."""

    id: int
    project_id: int
    url: str
    token: str = ""
    uuid: str = ""
    name: str = ""
    description: str = ""
    push_events: bool = True
    push_events_branch_filter: str = ""
    tag_push_events: bool = False
    merge_requests_events: bool = False
    note_events: bool = False
    confidential_note_events: bool = False
    issues_events: bool = False
    confidential_issues_events: bool = False
    emoji_events: bool = False
    pipeline_events: bool = False
    job_events: bool = False
    wiki_page_events: bool = False
    deployment_events: bool = False
    releases_events: bool = False
    enable_ssl_verification: bool = True
    created_at: str = ""


@dataclass
class ProtectedBranch:
    """A protected branch name or wildcard pattern with its access levels."""

    id: int
    project_id: int
    name: str
    push_access_level: int = MAINTAINER
    merge_access_level: int = MAINTAINER
    unprotect_access_level: int = MAINTAINER
    allow_force_push: bool = False
    code_owner_approval_required: bool = False


TABLES: dict[str, type] = {
    "users": User,
    "tokens": Token,
    "groups": Group,
    "projects": Project,
    "members": Member,
    "hooks": Hook,
    "protected_branches": ProtectedBranch,
}


def register_core_tables(store: Store) -> None:
    """Register every table of the core with ``store``."""
    for table, cls in TABLES.items():
        store.register(table, cls)
