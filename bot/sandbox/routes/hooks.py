"""Project webhooks: list, create, get, edit, delete (Maintainer or above).
The secret token is stored but never shown, as on GitLab."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlparse

from aiohttp import web

from bot.sandbox.http import (
    api_error,
    ids_sorted,
    iso,
    not_found,
    paginate,
    params,
    project_in_url,
    require,
    state_of,
    to_bool,
)
from bot.sandbox.records import MAINTAINER, Hook

SWITCHES = (
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "note_events",
    "confidential_note_events",
    "issues_events",
    "confidential_issues_events",
    "emoji_events",
    "pipeline_events",
    "job_events",
    "wiki_page_events",
    "deployment_events",
    "releases_events",
    "enable_ssl_verification",
)
TEXTS = ("name", "description", "push_events_branch_filter")


def render_hook(record: Hook) -> dict[str, Any]:
    """Return a hook as the API shows it (no token)."""
    body: dict[str, Any] = {
        "id": record.id,
        "url": record.url,
        "name": record.name,
        "description": record.description,
        "project_id": record.project_id,
        "created_at": record.created_at,
        "alert_status": "executable",
        "disabled_until": None,
        "url_variables": [],
        "custom_webhook_template": None,
        "custom_headers": [],
        "branch_filter_strategy": "wildcard",
    }
    for name in SWITCHES + ("push_events_branch_filter",):
        body[name] = getattr(record, name)
    return body


def _apply(record: Hook, values: dict[str, Any]) -> None:
    if "url" in values:
        parsed = urlparse(str(values["url"]))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise api_error(
                422, {"url": ["is blocked: Only allowed schemes are http, https"]}
            )
        record.url = str(values["url"])
    for name in SWITCHES:
        if name in values:
            setattr(record, name, to_bool(values[name], name))
    for name in TEXTS:
        if name in values and values[name] is not None:
            setattr(record, name, str(values[name]))
    if "token" in values:
        record.token = str(values["token"] or "")


def _find(request: web.Request) -> Hook:
    """The hook in the URL, for a Maintainer of its project (else 403/404)."""
    project = project_in_url(request, MAINTAINER)
    raw = request.match_info["hook_id"]
    record = state_of(request).store.get("hooks", int(raw)) if raw.isdigit() else None
    if record is None or record.project_id != project.id:
        raise not_found("Hook")
    return record


async def list_hooks(request: web.Request) -> web.Response:
    """GET /projects/:id/hooks."""
    project = project_in_url(request, MAINTAINER)
    hooks = ids_sorted(state_of(request).store.find("hooks", project_id=project.id))
    return paginate(request, hooks, render_hook)


async def post_hook(request: web.Request) -> web.Response:
    """POST /projects/:id/hooks: ``url`` plus token and event switches."""
    project = project_in_url(request, MAINTAINER)
    values = await params(request)
    require(values, "url")
    record = Hook(0, project.id, "", uuid=str(uuid.uuid4()), created_at=iso())
    _apply(record, values)
    state_of(request).store.insert("hooks", record)
    return web.json_response(render_hook(record), status=201)


async def get_hook(request: web.Request) -> web.Response:
    """GET /projects/:id/hooks/:hook_id."""
    return web.json_response(render_hook(_find(request)))


async def put_hook(request: web.Request) -> web.Response:
    """PUT /projects/:id/hooks/:hook_id: change url, token or switches."""
    record = _find(request)
    _apply(record, await params(request))
    return web.json_response(render_hook(record))


async def delete_hook(request: web.Request) -> web.Response:
    """DELETE /projects/:id/hooks/:hook_id."""
    record = _find(request)
    state_of(request).store.delete("hooks", record.id)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register the project hook routes."""
    base = "/api/v4/projects/{id}/hooks"
    app.router.add_get(base, list_hooks)
    app.router.add_post(base, post_hook)
    app.router.add_get(base + "/{hook_id}", get_hook)
    app.router.add_put(base + "/{hook_id}", put_hook)
    app.router.add_delete(base + "/{hook_id}", delete_hook)
