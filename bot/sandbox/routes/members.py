"""Members of projects and groups: direct (/members) and inherited
(/members/all), add, change, remove."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import entities
from bot.sandbox.http import (
    access_level,
    api_error,
    current_user,
    find_project,
    grape_error,
    group_access,
    group_chain,
    iso,
    not_found,
    paginate,
    params,
    require,
    require_access,
    state_of,
    to_int,
)
from bot.sandbox.records import MAINTAINER, OWNER, Member
from bot.sandbox.routes.groups import find_group

VALID_LEVELS = (5, 10, 15, 20, 25, 30, 40, 50)


def _source(request: web.Request) -> tuple[str, Any]:
    """Return ("project"|"group", record) named by the URL."""
    if "id" in request.match_info:
        return "project", find_project(request, request.match_info["id"])
    return "group", find_group(request, request.match_info["group_id"])


def _require_maintainer(request: web.Request, kind: str, source: Any) -> None:
    if kind == "project":
        require_access(request, source, MAINTAINER)
    elif group_access(state_of(request), current_user(request), source) < MAINTAINER:
        raise api_error(403, "403 Forbidden")


def _direct(state: Any, kind: str, source_id: int) -> list[Member]:
    return state.store.find("members", source_kind=kind, source_id=source_id)


def _inherited(state: Any, kind: str, source: Any) -> list[Member]:
    """Direct and ancestor memberships; for each user the highest level wins."""
    found = list(_direct(state, kind, source.id))
    group_id = source.namespace_id if kind == "project" else source.parent_id
    if kind == "project" and source.namespace_kind == "user":
        group_id = None
    for group in group_chain(state, group_id):
        found += _direct(state, "group", group.id)
    best: dict[int, Member] = {}
    for record in found:
        kept = best.get(record.user_id)
        if kept is None or record.access_level > kept.access_level:
            best[record.user_id] = record
    return sorted(best.values(), key=lambda m: m.user_id)


def _render(state: Any, record: Member) -> dict[str, Any]:
    return entities.member(state, record, state.store.get("users", record.user_id))


def _filtered(request: web.Request, members: list[Member]) -> list[Member]:
    state = state_of(request)
    if "query" in request.query:
        needle = request.query["query"].lower()
        members = [
            m
            for m in members
            if needle in state.store.get("users", m.user_id).username.lower()
        ]
    if "user_ids" in request.query or "user_ids[]" in request.query:
        wanted = set(request.query.getall("user_ids[]", []))
        wanted |= set(request.query.get("user_ids", "").split(","))
        members = [m for m in members if str(m.user_id) in wanted]
    return members


async def list_members(request: web.Request) -> web.Response:
    """GET /projects/:id/members and /groups/:id/members: direct members."""
    kind, source = _source(request)
    state = state_of(request)
    members = _filtered(request, _direct(state, kind, source.id))
    return paginate(request, members, lambda m: _render(state, m))


async def list_all_members(request: web.Request) -> web.Response:
    """GET .../members/all: direct and inherited members."""
    kind, source = _source(request)
    state = state_of(request)
    members = _filtered(request, _inherited(state, kind, source))
    return paginate(request, members, lambda m: _render(state, m))


def _one(members: list[Member], user_id: str) -> Member:
    for record in members:
        if str(record.user_id) == user_id:
            return record
    raise not_found("Member")


async def get_member(request: web.Request) -> web.Response:
    """GET .../members/:user_id: one direct member."""
    kind, source = _source(request)
    state = state_of(request)
    record = _one(_direct(state, kind, source.id), request.match_info["user_id"])
    return web.json_response(_render(state, record))


async def get_any_member(request: web.Request) -> web.Response:
    """GET .../members/all/:user_id: one member, direct or inherited."""
    kind, source = _source(request)
    state = state_of(request)
    record = _one(_inherited(state, kind, source), request.match_info["user_id"])
    return web.json_response(_render(state, record))


def _level(values: dict[str, Any]) -> int:
    require(values, "access_level")
    level = to_int(values["access_level"], "access_level")
    if level not in VALID_LEVELS:
        raise grape_error(400, "access_level does not have a valid value")
    return level


async def post_member(request: web.Request) -> web.Response:
    """POST .../members: add ``user_id`` (or ``username``) at ``access_level``."""
    kind, source = _source(request)
    _require_maintainer(request, kind, source)
    state = state_of(request)
    values = await params(request)
    if values.get("user_id") in (None, "") and not values.get("username"):
        raise grape_error(
            400, "user_id, username are missing, exactly one parameter must be provided"
        )
    level = _level(values)
    user = _user(state, values)
    if (
        level == OWNER
        and kind == "project"
        and access_level(state, current_user(request), source) < OWNER
    ):
        raise api_error(403, "403 Forbidden")
    if any(m.user_id == user.id for m in _direct(state, kind, source.id)):
        raise api_error(409, "Member already exists")
    record = Member(
        0,
        kind,
        source.id,
        user.id,
        level,
        iso(),
        values.get("expires_at"),
        current_user(request).id,
    )
    state.store.insert("members", record)
    return web.json_response(_render(state, record), status=201)


def _user(state: Any, values: dict[str, Any]) -> Any:
    if values.get("user_id") not in (None, ""):
        raw = str(values["user_id"])
        user = state.store.get("users", int(raw)) if raw.isdigit() else None
    else:
        wanted = str(values["username"]).lower()
        user = next(
            (u for u in state.store.rows("users") if u.username.lower() == wanted), None
        )
    if user is None:
        raise not_found("User")
    return user


async def put_member(request: web.Request) -> web.Response:
    """PUT .../members/:user_id: change the access level."""
    kind, source = _source(request)
    _require_maintainer(request, kind, source)
    state = state_of(request)
    record = _one(_direct(state, kind, source.id), request.match_info["user_id"])
    values = await params(request)
    record.access_level = _level(values)
    if "expires_at" in values:
        record.expires_at = values["expires_at"]
    return web.json_response(_render(state, record))


async def delete_member(request: web.Request) -> web.Response:
    """DELETE .../members/:user_id: remove a direct member."""
    kind, source = _source(request)
    _require_maintainer(request, kind, source)
    state = state_of(request)
    record = _one(_direct(state, kind, source.id), request.match_info["user_id"])
    state.store.delete("members", record.id)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register the member routes of projects and groups."""
    for base in ("/api/v4/projects/{id}", "/api/v4/groups/{group_id}"):
        app.router.add_get(base + "/members", list_members)
        app.router.add_post(base + "/members", post_member)
        app.router.add_get(base + "/members/all", list_all_members)
        app.router.add_get(base + "/members/all/{user_id}", get_any_member)
        app.router.add_get(base + "/members/{user_id}", get_member)
        app.router.add_put(base + "/members/{user_id}", put_member)
        app.router.add_delete(base + "/members/{user_id}", delete_member)
