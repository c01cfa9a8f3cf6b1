"""Project access tokens: each one is a bot user, a member of its project.

``POST /projects/:id/access_tokens`` does what GitLab's
``ResourceAccessTokens::CreateService`` does: it refuses callers below
Maintainer and access levels above the caller's own, then creates a bot
user ``project_<id>_bot_<32 hex>`` (e-mail ``<username>@noreply.<host>``,
name = the token's name), adds it to the project and mints its token.
``GET`` lists the project's tokens. Rotation, revocation and group access
tokens are not modelled (their routes answer 404).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.sandbox.http import (
    access_level,
    api_error,
    bad_request,
    current_user,
    find_project,
    grape_error,
    ids_sorted,
    iso,
    paginate,
    params,
    require,
    state_of,
    to_int,
)
from bot.sandbox.records import GUEST, MAINTAINER, OWNER, Member, Project, Token, User
from bot.sandbox.routes.users import TOKEN_SCOPES, create_token, render_token

# Gitlab::Auth.resource_bot_scopes: the non-admin scopes without read_user.
BOT_SCOPES = TOKEN_SCOPES - {"sudo", "admin_mode", "read_user"}
ACCESS_LEVELS = (GUEST, 20, 30, MAINTAINER, OWNER)
PATH = "/api/v4/projects/{project_id}/access_tokens"


def bot_identity(state: Any, project: Project) -> tuple[str, str]:
    """A fresh bot username and its no-reply e-mail address."""
    username = f"project_{project.id}_bot_{secrets.token_hex(16)}"
    host = urlsplit(state.base_url).hostname or "localhost"
    return username, f"{username}@noreply.{host}"


def parse_create(values: dict[str, Any]) -> tuple[str, list[str], int]:
    """Name, scopes and access level of a create request (Grape's refusals)."""
    require(values, "name", "scopes")
    scopes = values["scopes"]
    scopes = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    if not scopes or any(scope not in BOT_SCOPES for scope in scopes):
        raise grape_error(400, "scopes does not have a valid value")

    level = to_int(values.get("access_level", MAINTAINER), "access_level")
    if level not in ACCESS_LEVELS:
        raise grape_error(400, "access_level does not have a valid value")
    return str(values["name"]), scopes, level


def ensure_may_create(state: Any, user: User, project: Project, level: int) -> None:
    """Maintainers and owners only, and never above their own level (400s)."""
    own = access_level(state, user, project)
    if own < MAINTAINER:
        raise bad_request(
            "User does not have permission to create project access token"
        )
    if level > own:
        raise bad_request(
            "Access level of the token contains permissions not held by the "
            "creating user"
        )


def create_bot(state: Any, project: Project, name: str, level: int) -> User:
    """Store the bot user and its membership of ``project``."""
    username, email = bot_identity(state, project)
    bot = User(
        id=0,
        username=username,
        name=name,
        email=email,
        namespace_id=state.store.next_id("namespaces"),
        created_at=iso(),
        bot=True,
    )
    state.store.insert("users", bot)
    member = Member(
        id=0,
        source_kind="project",
        source_id=project.id,
        user_id=bot.id,
        access_level=level,
        created_at=iso(),
    )
    state.store.insert("members", member)
    return bot


def render(state: Any, project: Project, record: Token, *, secret: bool) -> Any:
    """The ``ResourceAccessToken`` entity (with ``token`` right after creation)."""
    bot = state.store.get("users", record.user_id)
    return {
        **render_token(record, with_secret=secret),
        "access_level": access_level(state, bot, project),
        "resource_type": "project",
        "resource_id": project.id,
    }


async def post_access_token(request: web.Request) -> web.Response:
    """POST /projects/:id/access_tokens: a bot user and its token, 201."""
    user = current_user(request)
    state = state_of(request)
    project = find_project(request, request.match_info["project_id"])
    values = await params(request)
    name, scopes, level = parse_create(values)
    ensure_may_create(state, user, project, level)

    bot = create_bot(state, project, name, level)
    record = create_token(state, bot, name, scopes, expires_at=values.get("expires_at"))
    return web.json_response(render(state, project, record, secret=True), status=201)


async def list_access_tokens(request: web.Request) -> web.Response:
    """GET /projects/:id/access_tokens: the tokens of the project's bots."""
    user = current_user(request)
    state = state_of(request)
    project = find_project(request, request.match_info["project_id"])
    if access_level(state, user, project) < MAINTAINER:
        raise api_error(401, "401 Unauthorized")  # GitLab's ``unauthorized!``

    members = state.store.find("members", source_kind="project", source_id=project.id)
    found = (state.store.get("users", member.user_id) for member in members)
    bots = {record.id for record in found if record is not None and record.bot}
    tokens = [t for t in ids_sorted(state.store.rows("tokens")) if t.user_id in bots]
    return paginate(
        request, tokens, lambda record: render(state, project, record, secret=False)
    )


def setup(app: web.Application) -> None:
    """Register the project access token routes."""
    app.router.add_post(PATH, post_access_token)
    app.router.add_get(PATH, list_access_tokens)
