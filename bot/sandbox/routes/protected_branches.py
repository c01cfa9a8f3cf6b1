"""Protected branches: list, get, protect, change, unprotect (Maintainer)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox.http import (
    api_error,
    grape_error,
    ids_sorted,
    paginate,
    params,
    project_in_url,
    require,
    state_of,
    to_bool,
    to_int,
)
from bot.sandbox.records import DEVELOPER, MAINTAINER, ProtectedBranch

LEVELS = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
LEVEL_FIELDS = ("push_access_level", "merge_access_level", "unprotect_access_level")


def _levels(record: ProtectedBranch, name: str) -> list[dict[str, Any]]:
    level = getattr(record, name)
    return [
        {
            "id": record.id * 10 + LEVEL_FIELDS.index(name),
            "access_level": level,
            "access_level_description": LEVELS[level],
            "deploy_key_id": None,
            "user_id": None,
            "group_id": None,
        }
    ]


def render(record: ProtectedBranch) -> dict[str, Any]:
    """Return a protected branch as the API shows it."""
    return {
        "id": record.id,
        "name": record.name,
        "push_access_levels": _levels(record, "push_access_level"),
        "merge_access_levels": _levels(record, "merge_access_level"),
        "unprotect_access_levels": _levels(record, "unprotect_access_level"),
        "allow_force_push": record.allow_force_push,
        "code_owner_approval_required": record.code_owner_approval_required,
        "inherited": False,
    }


def _apply(record: ProtectedBranch, values: dict[str, Any]) -> None:
    for name in LEVEL_FIELDS:
        if name in values:
            level = to_int(values[name], name)
            if level not in LEVELS:
                raise grape_error(400, f"{name} does not have a valid value")
            setattr(record, name, level)
    for name in ("allow_force_push", "code_owner_approval_required"):
        if name in values:
            setattr(record, name, to_bool(values[name], name))


def _find(request: web.Request, project: Any) -> ProtectedBranch:
    name = request.match_info["name"]
    for record in state_of(request).store.find(
        "protected_branches", project_id=project.id
    ):
        if record.name == name:
            return record
    raise api_error(404, "404 Not found")


async def list_protected(request: web.Request) -> web.Response:
    """GET /projects/:id/protected_branches."""
    project = project_in_url(request, DEVELOPER)
    rules = ids_sorted(
        state_of(request).store.find("protected_branches", project_id=project.id)
    )
    return paginate(request, rules, render)


async def get_protected(request: web.Request) -> web.Response:
    """GET /projects/:id/protected_branches/:name."""
    project = project_in_url(request, DEVELOPER)
    return web.json_response(render(_find(request, project)))


async def post_protected(request: web.Request) -> web.Response:
    """POST /projects/:id/protected_branches: protect a name or wildcard."""
    project = project_in_url(request, MAINTAINER)
    values = await params(request)
    require(values, "name")
    state = state_of(request)
    name = str(values["name"])
    if any(
        r.name == name
        for r in state.store.find("protected_branches", project_id=project.id)
    ):
        raise api_error(409, f"Protected branch '{name}' already exists")
    record = ProtectedBranch(0, project.id, name)
    _apply(record, values)
    state.store.insert("protected_branches", record)
    return web.json_response(render(record), status=201)


async def patch_protected(request: web.Request) -> web.Response:
    """PATCH /projects/:id/protected_branches/:name: change the settings."""
    project = project_in_url(request, MAINTAINER)
    record = _find(request, project)
    _apply(record, await params(request))
    return web.json_response(render(record))


async def delete_protected(request: web.Request) -> web.Response:
    """DELETE /projects/:id/protected_branches/:name: unprotect."""
    project = project_in_url(request, MAINTAINER)
    record = _find(request, project)
    state_of(request).store.delete("protected_branches", record.id)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register the protected branch routes."""
    base = "/api/v4/projects/{id}/protected_branches"
    app.router.add_get(base, list_protected)
    app.router.add_post(base, post_protected)
    app.router.add_get(base + "/{name}", get_protected)
    app.router.add_patch(base + "/{name}", patch_protected)
    app.router.add_delete(base + "/{name}", delete_protected)
