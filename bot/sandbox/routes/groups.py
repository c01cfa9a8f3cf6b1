"""Groups and subgroups: create, list, get (by id or path), subgroups,
projects."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.sandbox import entities
from bot.sandbox.http import (
    access_level,
    api_error,
    can_see,
    current_user,
    forbidden,
    grape_error,
    group_access,
    group_chain,
    ids_sorted,
    iso,
    namespace_path,
    not_found,
    optional_user,
    paginate,
    params,
    require,
    state_of,
    to_bool,
)
from bot.sandbox.records import MAINTAINER, OWNER, Group, Member, User

PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def find_group(request: web.Request, id_or_path: str) -> Group:
    """Return the group by id or full path; 404 when absent or invisible."""
    state = state_of(request)
    user = optional_user(request)
    if id_or_path.isdigit():
        group = state.store.get("groups", int(id_or_path))
    else:
        wanted = id_or_path.strip("/").lower()
        group = next(
            (
                g
                for g in state.store.rows("groups")
                if namespace_path(state, "group", g.id).lower() == wanted
            ),
            None,
        )
    if group is None or not can_see(
        state, user, group.visibility, group_access(state, user, group)
    ):
        raise not_found("Group")
    return group


def _parent(state: Any, user: User, values: dict[str, Any]) -> int | None:
    if values.get("parent_id") in (None, ""):
        return None
    parent = state.store.get("groups", int(str(values["parent_id"])))
    if parent is None:
        raise not_found("Parent Group")
    if group_access(state, user, parent) < MAINTAINER:
        raise forbidden()
    return parent.id


async def post_group(request: web.Request) -> web.Response:
    """POST /groups: a group, or a subgroup with ``parent_id``; creator is Owner."""
    user = current_user(request)
    state = state_of(request)
    values = await params(request)
    require(values, "name", "path")
    path = str(values["path"])
    if not PATH.match(path):
        raise api_error(400, {"path": ["is invalid"]})
    visibility = values.get("visibility") or "private"
    if visibility not in ("private", "internal", "public"):
        raise grape_error(400, "visibility does not have a valid value")
    parent_id = _parent(state, user, values)
    siblings = [g for g in state.store.rows("groups") if g.parent_id == parent_id]
    if any(g.path.lower() == path.lower() for g in siblings):
        raise api_error(400, {"path": ["has already been taken"]})
    group = Group(
        id=state.store.next_id("namespaces"),
        name=str(values["name"]),
        path=path,
        parent_id=parent_id,
        description=str(values.get("description") or ""),
        visibility=visibility,
        created_at=iso(),
    )
    state.store.insert("groups", group)
    owner = Member(0, "group", group.id, user.id, OWNER, iso(), None, user.id)
    state.store.insert("members", owner)
    return web.json_response(entities.group(state, group), status=201)


def _visible_groups(request: web.Request) -> list[Group]:
    state = state_of(request)
    user = optional_user(request)
    return [
        g
        for g in ids_sorted(state.store.rows("groups"))
        if can_see(state, user, g.visibility, group_access(state, user, g))
    ]


async def list_groups(request: web.Request) -> web.Response:
    """GET /groups: the groups the user can see (``search`` filters)."""
    state = state_of(request)
    groups = _visible_groups(request)
    if "search" in request.query:
        needle = request.query["search"].lower()
        groups = [g for g in groups if needle in f"{g.name} {g.path}".lower()]
    if to_bool(request.query.get("top_level_only", False), "top_level_only"):
        groups = [g for g in groups if g.parent_id is None]
    return paginate(request, groups, lambda g: entities.group(state, g))


async def get_group(request: web.Request) -> web.Response:
    """GET /groups/:id."""
    group = find_group(request, request.match_info["group_id"])
    return web.json_response(entities.group(state_of(request), group))


async def list_subgroups(request: web.Request) -> web.Response:
    """GET /groups/:id/subgroups: direct children the user can see."""
    group = find_group(request, request.match_info["group_id"])
    state = state_of(request)
    children = [g for g in _visible_groups(request) if g.parent_id == group.id]
    return paginate(request, children, lambda g: entities.group(state, g))


async def list_group_projects(request: web.Request) -> web.Response:
    """GET /groups/:id/projects (``include_subgroups`` adds descendants)."""
    group = find_group(request, request.match_info["group_id"])
    state = state_of(request)
    user = optional_user(request)
    wanted = {group.id}
    if to_bool(request.query.get("include_subgroups", False), "include_subgroups"):
        wanted |= {
            g.id for g in state.store.rows("groups") if _descends(state, g, group)
        }
    projects = [
        p
        for p in ids_sorted(state.store.rows("projects"), reverse=True)
        if p.namespace_kind == "group"
        and p.namespace_id in wanted
        and can_see(state, user, p.visibility, access_level(state, user, p))
    ]
    return paginate(request, projects, lambda p: entities.project(state, p))


def _descends(state: Any, group: Group, ancestor: Group) -> bool:
    return any(g.id == ancestor.id for g in group_chain(state, group.id))


def setup(app: web.Application) -> None:
    """Register the group routes."""
    app.router.add_post("/api/v4/groups", post_group)
    app.router.add_get("/api/v4/groups", list_groups)
    app.router.add_get("/api/v4/groups/{group_id}", get_group)
    app.router.add_get("/api/v4/groups/{group_id}/subgroups", list_subgroups)
    app.router.add_get("/api/v4/groups/{group_id}/projects", list_group_projects)
