"""Shared steps of the merge-request routes: lookups, system notes, hooks."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.mr import core, payloads, views
from bot.sandbox.mr.model import MERGE_REQUESTS, NOTES, MergeRequest, Note
from bot.sandbox.records import Project, User

JSON = dict[str, Any]


def find_mr(state: Any, project: Project, iid: str | int) -> MergeRequest:
    """The merge request ``iid`` of ``project``; 404 as GitLab's ``find_by!``."""
    text = str(iid)
    if text.isdigit():
        found = state.store.find(MERGE_REQUESTS, project_id=project.id, iid=int(text))
        if found:
            return found[0]
    raise http.api_error(404, "404 Not found")


def project_of(request: web.Request) -> Project:
    """The project named in the URL, readable by the caller (else 404)."""
    return http.find_project(request, request.match_info["project_id"])


def mr_of(request: web.Request) -> tuple[Any, Project, MergeRequest]:
    """State, project and merge request named in the URL."""
    state = core.state_of(request)
    project = project_of(request)
    return state, project, find_mr(state, project, request.match_info["iid"])


def add_note(
    state: Any, mr: MergeRequest, author_id: int, body: str, system: bool = False
) -> Note:
    """Store a note on ``mr`` (a system note records an event)."""
    now = http.iso()
    note = Note(
        project_id=mr.project_id,
        mr_id=mr.id,
        author_id=author_id,
        body=body,
        created_at=now,
        updated_at=now,
        system=system,
    )
    return state.store.insert(NOTES, note)


def system_note(state: Any, mr: MergeRequest, author_id: int, body: str) -> Note:
    """Store a system note on ``mr``."""
    return add_note(state, mr, author_id, body, system=True)


def touch(mr: MergeRequest) -> None:
    """Mark ``mr`` as changed now."""
    mr.updated_at = http.iso()


async def emit_mr(
    state: Any,
    project: Project,
    mr: MergeRequest,
    actor: User,
    action: str,
    changes: JSON | None = None,
    oldrev: str | None = None,
) -> None:
    """Send a ``Merge Request Hook`` for ``action`` on ``mr``."""
    view = views.hook_view(state, project, mr)
    body = payloads.merge_request_event(
        view, core.user_hook(state, actor), action, changes, oldrev
    )
    await core.emit_hook(
        state, project, "Merge Request Hook", "merge_requests_events", body
    )


def respond(
    request: web.Request, project: Project, mr: MergeRequest, status: int = 200
) -> web.Response:
    """Answer with the full entity of ``mr``."""
    state = core.state_of(request)
    body = views.render(state, project, mr, http.optional_user(request))
    return web.json_response(body, status=status)
