"""Notes on merge requests: list (with system notes), get, create, edit, delete.

User notes fire a ``Note Hook`` (``action`` create/update); system notes
do not. Quick actions are not modelled: a ``/command`` body is kept as text.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.mr import core, payloads, service, views
from bot.sandbox.mr.model import AWARD_EMOJI, NOTES, MergeRequest, Note
from bot.sandbox.records import GUEST, MAINTAINER, Project, User

MAX_BODY = 1_000_000


def render(state: Any, note: Note, mr: MergeRequest) -> dict[str, Any]:
    """The note entity."""
    return {
        "id": note.id,
        "type": None,
        "body": note.body,
        "attachment": None,
        "author": core.user_basic(state, core.user(state, note.author_id)),
        "created_at": note.created_at,
        "updated_at": note.updated_at,
        "system": note.system,
        "noteable_id": mr.id,
        "noteable_type": "MergeRequest",
        "project_id": note.project_id,
        "noteable_iid": mr.iid,
        "commands_changes": {},
        "resolvable": False,
        "confidential": note.internal,
        "internal": note.internal,
        "imported": False,
        "imported_from": "none",
    }


def note_of(request: web.Request) -> tuple[Any, Project, MergeRequest, Note]:
    """The note named in the URL, on the MR named in the URL (404 otherwise)."""
    state, project, mr = service.mr_of(request)
    key = request.match_info["note_id"]
    note = state.store.get(NOTES, int(key)) if key.isdigit() else None
    if note is None or note.mr_id != mr.id:
        raise http.api_error(404, "404 Not found")
    return state, project, mr, note


def checked_body(values: dict[str, Any]) -> str:
    """The ``body`` parameter, present and not too long."""
    http.require(values, "body")
    body = str(values["body"])
    if len(body) > MAX_BODY:
        raise http.api_error(
            400, {"note": ["is too long (maximum is 1000000 characters)"]}
        )
    return body


async def emit_note(
    state: Any, project: Project, mr: MergeRequest, note: Note, user: User, action: str
) -> None:
    """Send the ``Note Hook`` of a user note."""
    view = views.hook_view(state, project, mr)
    body = payloads.note_event(note, view, core.user_hook(state, user), action)
    await core.emit_hook(state, project, "Note Hook", "note_events", body)


async def list_notes(request: web.Request) -> web.Response:
    """GET notes, newest first by default (``sort``, ``order_by``)."""
    state, _, mr = service.mr_of(request)
    key = request.query.get("order_by", "created_at")
    if key not in ("created_at", "updated_at"):
        raise http.grape_error(400, "order_by does not have a valid value")
    found = sorted(
        state.store.find(NOTES, mr_id=mr.id),
        key=lambda note: (getattr(note, key), note.id),
        reverse=request.query.get("sort", "desc") != "asc",
    )
    return http.paginate(request, found, lambda note: render(state, note, mr))


async def get_note(request: web.Request) -> web.Response:
    """GET one note."""
    state, _, mr, note = note_of(request)
    return web.json_response(render(state, note, mr))


async def create_note(request: web.Request) -> web.Response:
    """POST a note (guests and above may comment)."""
    state, project, mr = service.mr_of(request)
    user = http.current_user(request)
    http.require_access(request, project, GUEST)
    values = await http.params(request)

    note = service.add_note(state, mr, user.id, checked_body(values))
    if values.get("internal") is not None:
        note.internal = http.to_bool(values["internal"], "internal")
    service.touch(mr)
    await emit_note(state, project, mr, note, user, "create")
    return web.json_response(render(state, note, mr), status=201)


def ensure_author_or_admin(
    state: Any, project: Project, note: Note, user: User
) -> None:
    """Only the author (or a maintainer/admin) may change a note; system notes never."""
    if note.system:
        raise http.forbidden()
    if (
        note.author_id != user.id
        and core.access_level(state, user, project) < MAINTAINER
    ):
        raise http.forbidden()


async def update_note(request: web.Request) -> web.Response:
    """PUT a note's body."""
    state, project, mr, note = note_of(request)
    user = http.current_user(request)
    ensure_author_or_admin(state, project, note, user)
    note.body = checked_body(await http.params(request))
    note.updated_at = http.iso()
    await emit_note(state, project, mr, note, user, "update")
    return web.json_response(render(state, note, mr))


async def delete_note(request: web.Request) -> web.Response:
    """DELETE a note and its award emoji."""
    state, project, _, note = note_of(request)
    ensure_author_or_admin(state, project, note, http.current_user(request))
    state.store.delete(NOTES, note.id)
    for award in state.store.find(
        AWARD_EMOJI, awardable_type="Note", awardable_id=note.id
    ):
        state.store.delete(AWARD_EMOJI, award.id)
    return web.Response(status=204)


def setup(app: web.Application, mr_path: str) -> None:
    """Register the note routes."""
    notes_path = mr_path + "/notes"
    app.router.add_get(notes_path, list_notes)
    app.router.add_post(notes_path, create_note)
    app.router.add_get(notes_path + "/{note_id}", get_note)
    app.router.add_put(notes_path + "/{note_id}", update_note)
    app.router.add_delete(notes_path + "/{note_id}", delete_note)
