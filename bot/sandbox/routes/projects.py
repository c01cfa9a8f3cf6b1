"""Projects: create (optionally with a README), list, get by id or path,
update settings, delete."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.sandbox import entities
from bot.sandbox.gitcommit import Action
from bot.sandbox.http import (
    access_level,
    api_error,
    can_see,
    current_user,
    find_project,
    grape_error,
    group_access,
    ids_sorted,
    iso,
    not_found,
    optional_user,
    paginate,
    params,
    project_in_url,
    project_path,
    state_of,
    to_bool,
    to_int,
)
from bot.sandbox.records import (
    DEVELOPER,
    GUEST,
    MAINTAINER,
    OWNER,
    Member,
    Project,
    User,
)
from bot.sandbox.writes import CommitPlan, commit_actions

PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
CHOICES = {
    "merge_method": ("merge", "rebase_merge", "ff"),
    "squash_option": ("never", "always", "default_on", "default_off"),
    "visibility": ("private", "internal", "public"),
}
BOOLEAN_SETTINGS = (
    "only_allow_merge_if_pipeline_succeeds",
    "allow_merge_on_skipped_pipeline",
    "only_allow_merge_if_all_discussions_are_resolved",
    "remove_source_branch_after_merge",
    "merge_requests_enabled",
    "reset_approvals_on_push",
    "merge_pipelines_enabled",
    "merge_trains_enabled",
)
TEXT_SETTINGS = ("description",)


def apply_settings(project: Project, values: dict[str, Any]) -> None:
    """Validate and copy the settings present in ``values`` onto ``project``."""
    for name, allowed in CHOICES.items():
        if name in values:
            if values[name] not in allowed:
                raise grape_error(400, f"{name} does not have a valid value")
            setattr(project, name, values[name])
    for name in BOOLEAN_SETTINGS:
        if name in values:
            setattr(project, name, to_bool(values[name], name))
    for name in TEXT_SETTINGS:
        if name in values and values[name] is not None:
            setattr(project, name, str(values[name]))
    if "approvals_before_merge" in values:
        project.approvals_before_merge = to_int(
            values["approvals_before_merge"], "approvals_before_merge"
        )


def _namespace_for(state: Any, user: User, values: dict[str, Any]) -> tuple[str, int]:
    if values.get("namespace_id") in (None, ""):
        return "user", user.namespace_id
    raw = str(values["namespace_id"])
    group = (
        state.store.get("groups", int(raw))
        if raw.isdigit()
        else next((g for g in state.store.rows("groups") if g.path == raw), None)
    )
    if group is not None:
        if group_access(state, user, group) < DEVELOPER:
            raise api_error(403, "403 Forbidden")
        return "group", group.id
    if raw.isdigit() and int(raw) == user.namespace_id:
        return "user", user.namespace_id
    owner = next(
        (u for u in state.store.rows("users") if str(u.namespace_id) == raw), None
    )
    if owner is not None and user.is_admin:
        return "user", owner.namespace_id
    raise not_found("Namespace")


def _names(values: dict[str, Any]) -> tuple[str, str]:
    name, path = values.get("name"), values.get("path")
    if not name and not path:
        raise grape_error(
            400, "name, path are missing, at least one parameter must be provided"
        )
    path = str(path or re.sub(r"[^A-Za-z0-9_.\-]+", "-", str(name)).strip("-").lower())
    if not PATH.match(path) or path.endswith((".git", ".atom")):
        raise api_error(
            400,
            {
                "path": [
                    "can contain only letters, digits, '_', '-' and '.'. Cannot start "
                    "with '-', end in '.git' or end in '.atom'"
                ]
            },
        )
    return str(name or path), path


def create_project(state: Any, user: User, values: dict[str, Any]) -> Project:
    """Validate ``values`` and store a new project with an empty repository."""
    name, path = _names(values)
    kind, namespace_id = _namespace_for(state, user, values)
    siblings = state.store.find(
        "projects", namespace_kind=kind, namespace_id=namespace_id
    )
    if any(p.path.lower() == path.lower() for p in siblings):
        raise api_error(
            400,
            {"path": ["has already been taken"], "name": ["has already been taken"]},
        )
    if any(p.name.lower() == name.lower() for p in siblings):
        raise api_error(400, {"name": ["has already been taken"]})
    project = Project(
        id=0,
        name=name,
        path=path,
        namespace_id=namespace_id,
        namespace_kind=kind,
        creator_id=user.id,
        created_at=iso(),
        default_branch=str(values.get("default_branch") or "main"),
    )
    apply_settings(project, values)
    state.store.insert("projects", project)
    state.repo(project).init(project.default_branch)
    if kind == "user":
        # GitLab makes the owner of a personal namespace an Owner member.
        owner = next(
            u for u in state.store.rows("users") if u.namespace_id == namespace_id
        )
        state.store.insert(
            "members",
            Member(0, "project", project.id, owner.id, OWNER, iso(), None, user.id),
        )
    return project


async def post_project(request: web.Request) -> web.Response:
    """POST /projects: create a project, optionally with an initial README."""
    user = current_user(request)
    state = state_of(request)
    values = await params(request)
    project = create_project(state, user, values)
    if to_bool(values.get("initialize_with_readme", False), "initialize_with_readme"):
        readme = Action("create", "README.md", f"# {project.name}\n".encode())
        plan = CommitPlan(project.default_branch, "Initial commit", (readme,))
        await commit_actions(state, project, user, plan)
    return web.json_response(entities.project(state, project), status=201)


def _visible_projects(request: web.Request, user: User | None) -> list[Project]:
    state = state_of(request)
    query = request.query
    found = []
    for project in state.store.rows("projects"):
        level = access_level(state, user, project)
        if not can_see(state, user, project.visibility, level):
            continue
        if to_bool(query.get("membership", False), "membership") and (
            level < GUEST
            or (user and user.is_admin and not _is_member(state, user, project))
        ):
            continue
        if to_bool(query.get("owned", False), "owned") and level < OWNER:
            continue
        if "search" in query and query["search"].lower() not in (
            f"{project.name} {project_path(state, project)}".lower()
        ):
            continue
        found.append(project)
    return found


def _is_member(state: Any, user: User, project: Project) -> bool:
    admin_free = User(**{**user.__dict__, "is_admin": False})
    return access_level(state, admin_free, project) >= GUEST


def _ordered(request: web.Request, projects: list[Project]) -> list[Project]:
    order_by = request.query.get("order_by", "created_at")
    keys = {
        "id": lambda p: p.id,
        "created_at": lambda p: (p.created_at, p.id),
        "name": lambda p: p.name.lower(),
        "path": lambda p: p.path.lower(),
        "last_activity_at": lambda p: (p.last_activity_at or p.created_at, p.id),
        "updated_at": lambda p: (p.last_activity_at or p.created_at, p.id),
    }
    if order_by not in keys:
        raise grape_error(400, "order_by does not have a valid value")
    descending = request.query.get("sort", "desc") != "asc"
    return sorted(projects, key=keys[order_by], reverse=descending)


async def list_projects(request: web.Request) -> web.Response:
    """GET /projects: the projects the user can see."""
    user = optional_user(request)
    state = state_of(request)
    projects = _ordered(request, _visible_projects(request, user))
    return paginate(request, projects, lambda p: entities.project(state, p))


async def get_project(request: web.Request) -> web.Response:
    """GET /projects/:id: one project by id or URL-encoded full path."""
    project = find_project(request, request.match_info["id"])
    return web.json_response(entities.project(state_of(request), project))


async def put_project(request: web.Request) -> web.Response:
    """PUT /projects/:id: change settings (Maintainer or above)."""
    project = project_in_url(request, MAINTAINER)
    values = await params(request)
    state = state_of(request)
    if "default_branch" in values:
        branch = str(values["default_branch"])
        if state.repo(project).head(branch) is None:
            raise api_error(400, {"default_branch": ["does not exist"]})
        project.default_branch = branch
        state.repo(project).set_default_branch(branch)
    if "name" in values:
        project.name = str(values["name"])
    apply_settings(project, values)
    return web.json_response(entities.project(state, project))


async def delete_project(request: web.Request) -> web.Response:
    """DELETE /projects/:id: remove the project and its records (Owner)."""
    project = project_in_url(request, OWNER)
    state = state_of(request)
    for table in ("members", "hooks", "protected_branches"):
        for record in ids_sorted(state.store.rows(table)):
            if getattr(record, "project_id", None) == project.id or (
                table == "members"
                and record.source_kind == "project"
                and record.source_id == project.id
            ):
                state.store.delete(table, record.id)
    state.store.delete("projects", project.id)
    return web.json_response({"message": "202 Accepted"}, status=202)


def setup(app: web.Application) -> None:
    """Register the project routes."""
    app.router.add_post("/api/v4/projects", post_project)
    app.router.add_get("/api/v4/projects", list_projects)
    app.router.add_get("/api/v4/projects/{id}", get_project)
    app.router.add_put("/api/v4/projects/{id}", put_project)
    app.router.add_delete("/api/v4/projects/{id}", delete_project)
