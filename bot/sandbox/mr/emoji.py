"""Award emoji on merge requests and on their notes; each fires an Emoji Hook."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.mr import core, notes, payloads, service, views
from bot.sandbox.mr.model import AWARD_EMOJI, AwardEmoji, MergeRequest, Note
from bot.sandbox.records import GUEST, Project, User

EMOJI_NAME = re.compile(r"^[a-z0-9_+-]{1,64}$")


def target_of(request: web.Request) -> tuple[Any, Project, MergeRequest, Note | None]:
    """The MR, and the note when the URL names one."""
    if "note_id" in request.match_info:
        return notes.note_of(request)
    state, project, mr = service.mr_of(request)
    return state, project, mr, None


def awardable(mr: MergeRequest, note: Note | None) -> tuple[str, int]:
    """(``awardable_type``, ``awardable_id``) of the target."""
    return ("MergeRequest", mr.id) if note is None else ("Note", note.id)


def render(state: Any, award: AwardEmoji) -> dict[str, Any]:
    """The award emoji entity."""
    return {
        "id": award.id,
        "name": award.name,
        "user": core.user_basic(state, core.user(state, award.user_id)),
        "created_at": award.created_at,
        "updated_at": award.updated_at,
        "awardable_id": award.awardable_id,
        "awardable_type": award.awardable_type,
    }


def awards_on(state: Any, kind: str, target_id: int) -> list[AwardEmoji]:
    """The awards of one merge request or note."""
    return state.store.find(AWARD_EMOJI, awardable_type=kind, awardable_id=target_id)


async def emit(
    state: Any,
    project: Project,
    mr: MergeRequest,
    note: Note | None,
    award: AwardEmoji,
    user: User,
    action: str,
) -> None:
    """Send the ``Emoji Hook`` of an award or revoke."""
    view = views.hook_view(state, project, mr)
    actor = core.user_hook(state, user)
    body = payloads.emoji_event(award, view, actor, action, note)
    await core.emit_hook(state, project, "Emoji Hook", "emoji_events", body)


async def list_awards(request: web.Request) -> web.Response:
    """GET the awards of the MR or note."""
    state, _, mr, note = target_of(request)
    found = awards_on(state, *awardable(mr, note))
    return http.paginate(request, found, lambda award: render(state, award))


async def get_award(request: web.Request) -> web.Response:
    """GET one award."""
    state, _, mr, note, award = award_of(request)
    return web.json_response(render(state, award))


def award_of(
    request: web.Request,
) -> tuple[Any, Project, MergeRequest, Note | None, AwardEmoji]:
    """The award named in the URL, on the target named in the URL."""
    state, project, mr, note = target_of(request)
    key = request.match_info["award_id"]
    kind, target_id = awardable(mr, note)
    award = state.store.get(AWARD_EMOJI, int(key)) if key.isdigit() else None
    if award is None or (award.awardable_type, award.awardable_id) != (kind, target_id):
        raise http.api_error(404, "404 Not found")
    return state, project, mr, note, award


async def create_award(request: web.Request) -> web.Response:
    """POST an award: 404 texts of GitLab's AddService on bad or repeated names."""
    state, project, mr, note = target_of(request)
    user = http.current_user(request)
    http.require_access(request, project, GUEST)
    values = await http.params(request)
    http.require(values, "name")

    name = str(values["name"])
    kind, target_id = awardable(mr, note)
    # Wording checked 2026-12-03 (AwardEmojis::AddService -> not_found!). Known
    # gap: only the name's shape is checked, not GitLab's emoji list, so a
    # well-formed unknown name such as "xxqq" is accepted here but not there.
    if not EMOJI_NAME.match(name):
        raise http.api_error(
            404, "404 Award Emoji Name is not a valid emoji name Not Found"
        )
    if any(
        a.name == name and a.user_id == user.id
        for a in awards_on(state, kind, target_id)
    ):
        raise http.api_error(
            404, "404 Award Emoji Name has already been taken Not Found"
        )

    now = http.iso()
    award = AwardEmoji(name, user.id, kind, target_id, now, now)
    state.store.insert(AWARD_EMOJI, award)
    await emit(state, project, mr, note, award, user, "award")
    return web.json_response(render(state, award), status=201)


async def delete_award(request: web.Request) -> web.Response:
    """DELETE an award: its owner or an admin only (else 403)."""
    state, project, mr, note, award = award_of(request)
    user = http.current_user(request)
    if award.user_id != user.id and not user.is_admin:
        raise http.forbidden()

    state.store.delete(AWARD_EMOJI, award.id)
    await emit(state, project, mr, note, award, user, "revoke")
    return web.Response(status=204)


def setup(app: web.Application, mr_path: str) -> None:
    """Register the award routes on MRs and on their notes."""
    for base in (mr_path, mr_path + "/notes/{note_id}"):
        path = base + "/award_emoji"
        app.router.add_get(path, list_awards)
        app.router.add_post(path, create_award)
        app.router.add_get(path + "/{award_id}", get_award)
        app.router.add_delete(path + "/{award_id}", delete_award)
