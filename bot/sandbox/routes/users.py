"""Users and their personal access tokens: /users, /user, tokens (admin)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from aiohttp import web

from bot.sandbox import entities
from bot.sandbox.http import (
    api_error,
    current_user,
    grape_error,
    ids_sorted,
    iso,
    not_found,
    paginate,
    params,
    require,
    require_admin,
    state_of,
    to_bool,
)
from bot.sandbox.records import Token, User

TOKEN_SCOPES = frozenset(
    {
        "api",
        "read_api",
        "read_user",
        "read_repository",
        "write_repository",
        "read_registry",
        "write_registry",
        "sudo",
        "admin_mode",
        "create_runner",
        "manage_runner",
        "ai_features",
        "k8s_proxy",
        "self_rotate",
    }
)
USERNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def create_user(
    state: Any, username: str, name: str, email: str, *, is_admin: bool = False
) -> User:
    """Store a new user with its personal namespace."""
    user = User(
        id=0,
        username=username,
        name=name,
        email=email,
        is_admin=is_admin,
        namespace_id=state.store.next_id("namespaces"),
        created_at=iso(),
    )
    return state.store.insert("users", user)


def create_token(
    state: Any,
    user: User,
    name: str,
    scopes: list[str],
    *,
    token: str | None = None,
    expires_at: str | None = None,
) -> Token:
    """Store a personal access token for ``user`` (a random one unless given)."""
    record = Token(
        id=0,
        user_id=user.id,
        name=name,
        token=token or f"glpat-{secrets.token_urlsafe(15)}",
        scopes=list(scopes),
        expires_at=expires_at,
        created_at=iso(),
    )
    return state.store.insert("tokens", record)


def find_user(state: Any, user_id: str) -> User:
    """Return the user by numeric id, or answer 404 User Not Found."""
    user = state.store.get("users", int(user_id)) if user_id.isdigit() else None
    if user is None:
        raise not_found("User")
    return user


def _validate_new_user(state: Any, values: dict[str, Any]) -> None:
    require(values, "email", "name", "username")
    if not USERNAME.match(str(values["username"])):
        raise api_error(
            400, {"username": ["can contain only letters, digits, '_', '-' and '.'"]}
        )
    if "@" not in str(values["email"]):
        raise api_error(400, {"email": ["is invalid"]})
    users = state.store.rows("users")
    if any(u.username.lower() == str(values["username"]).lower() for u in users):
        raise api_error(409, "Username has already been taken")
    if any(u.email.lower() == str(values["email"]).lower() for u in users):
        raise api_error(409, "Email has already been taken")


async def post_user(request: web.Request) -> web.Response:
    """POST /users: create a user (administrators only)."""
    require_admin(request)
    state = state_of(request)
    values = await params(request)
    _validate_new_user(state, values)
    user = create_user(
        state,
        str(values["username"]),
        str(values["name"]),
        str(values["email"]),
        is_admin=to_bool(values.get("admin", False), "admin"),
    )
    return web.json_response(entities.user_full(state, user, private=True), status=201)


async def list_users(request: web.Request) -> web.Response:
    """GET /users: every user, filtered by username or search."""
    viewer = current_user(request)
    state = state_of(request)
    users = ids_sorted(state.store.rows("users"))
    if "username" in request.query:
        wanted = request.query["username"].lower()
        users = [u for u in users if u.username.lower() == wanted]
    if "search" in request.query:
        needle = request.query["search"].lower()
        users = [
            u for u in users if needle in f"{u.username} {u.name} {u.email}".lower()
        ]
    return paginate(
        request, users, lambda u: entities.user_full(state, u, private=viewer.is_admin)
    )


async def get_user(request: web.Request) -> web.Response:
    """GET /users/:id: one user."""
    viewer = current_user(request)
    state = state_of(request)
    user = find_user(state, request.match_info["user_id"])
    private = viewer.is_admin or viewer.id == user.id
    return web.json_response(entities.user_full(state, user, private=private))


async def get_self(request: web.Request) -> web.Response:
    """GET /user: the authenticated user."""
    user = current_user(request)
    return web.json_response(entities.user_full(state_of(request), user, private=True))


def render_token(record: Token, *, with_secret: bool) -> dict[str, Any]:
    """Return a personal access token as the API shows it."""
    body = {
        "id": record.id,
        "name": record.name,
        "revoked": record.revoked,
        "created_at": record.created_at,
        "description": None,
        "scopes": record.scopes,
        "user_id": record.user_id,
        "last_used_at": None,
        "active": not record.revoked,
        "expires_at": record.expires_at,
    }
    if with_secret:
        body["token"] = record.token
    return body


async def post_token(request: web.Request) -> web.Response:
    """POST /users/:id/personal_access_tokens: mint a token (administrators)."""
    require_admin(request)
    state = state_of(request)
    user = find_user(state, request.match_info["user_id"])
    values = await params(request)
    require(values, "name", "scopes")
    scopes = values["scopes"]
    scopes = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    if not scopes or any(scope not in TOKEN_SCOPES for scope in scopes):
        raise grape_error(400, "scopes does not have a valid value")
    record = create_token(
        state, user, str(values["name"]), scopes, expires_at=values.get("expires_at")
    )
    return web.json_response(render_token(record, with_secret=True), status=201)


async def get_token_self(request: web.Request) -> web.Response:
    """GET /personal_access_tokens/self: the token used for this request."""
    user = current_user(request)
    state = state_of(request)
    presented = (
        request.headers.get("PRIVATE-TOKEN")
        or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    )
    for record in state.store.find("tokens", user_id=user.id):
        if record.token == presented:
            return web.json_response(render_token(record, with_secret=False))
    raise not_found("Token")


async def block_user(request: web.Request) -> web.Response:
    """POST /users/:id/block: block a user (administrators); tokens stop working."""
    require_admin(request)
    user = find_user(state_of(request), request.match_info["user_id"])
    user.state = "blocked"
    return web.json_response(True, status=201)


def setup(app: web.Application) -> None:
    """Register the user routes."""
    app.router.add_post("/api/v4/users", post_user)
    app.router.add_get("/api/v4/users", list_users)
    app.router.add_get("/api/v4/users/{user_id}", get_user)
    app.router.add_get("/api/v4/user", get_self)
    app.router.add_post("/api/v4/users/{user_id}/personal_access_tokens", post_token)
    app.router.add_post("/api/v4/users/{user_id}/block", block_user)
    app.router.add_get("/api/v4/personal_access_tokens/self", get_token_self)
