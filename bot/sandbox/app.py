"""The sandbox's aiohttp application: state, event bus, middlewares, routes.

Middlewares, outermost first: the request log, GitLab's error shapes (and
saving the store after writes), injected faults, authentication.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib
import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.sandbox.faults import Faults, RequestLog
from bot.sandbox.git import Repository
from bot.sandbox.http import STATE_KEY, TOKEN_KIND_KEY, USER_KEY, api_error, grape_error
from bot.sandbox.records import Project, User
from bot.sandbox.store import Store
from bot.sandbox.webhooks import Webhooks

log = logging.getLogger(__name__)

# Each module exposes setup(app). The merge-request part adds its line here.
ROUTE_MODULES = [
    "bot.sandbox.faults",
    "bot.sandbox.routes.users",
    "bot.sandbox.routes.groups",
    "bot.sandbox.routes.projects",
    "bot.sandbox.routes.members",
    "bot.sandbox.routes.access_tokens",
    "bot.sandbox.routes.hooks",
    "bot.sandbox.routes.protected_branches",
    "bot.sandbox.routes.files",
    "bot.sandbox.routes.commits",
    "bot.sandbox.routes.branches",
    "bot.sandbox.routes.tags",
    "bot.sandbox.routes.compare",
    "bot.sandbox.routes.tree",
    "bot.sandbox.mr.routes",
    "bot.sandbox.ci.routes",  # after the MR part: its branch listener runs first
]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Listener = Callable[..., Awaitable[None] | None]
TokenResolver = Callable[[str, str], User | None]


@dataclass
class SandboxState:
    """Everything one sandbox holds: records, repositories, hooks, faults, logs."""

    store: Store
    repos_root: Path
    tier: str = "premium"
    base_url: str = ""
    faults: Faults = field(default_factory=Faults)
    request_log: RequestLog = field(default_factory=RequestLog)
    listeners: dict[str, list[Listener]] = field(default_factory=dict)
    # (kind, token) -> user; kind is "private" or "job". Part 2 adds job tokens.
    token_resolvers: list[TokenResolver] = field(default_factory=list)
    webhooks: Webhooks = field(init=False)
    _repos: dict[int, Repository] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.webhooks = Webhooks(self.store, lambda: self.base_url)
        self.token_resolvers.append(self._personal_token)

    def on(self, event: str, callback: Listener) -> None:
        """Call ``callback`` on ``event``: branch_updated(project, branch, before,
        after), branch_deleted(project, branch, before), tag_created(project, tag,
        sha). A created branch has ``before`` = 40 zeros."""
        self.listeners.setdefault(event, []).append(callback)

    async def emit(self, event: str, *args: Any) -> None:
        """Call every listener of ``event`` in order; a failing one is logged."""
        for callback in self.listeners.get(event, []):
            try:
                result = callback(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("sandbox listener failed", extra={"event": event})

    def repo(self, project: Project) -> Repository:
        """Return the bare repository of ``project``."""
        if project.id not in self._repos:
            path = self.repos_root / f"{project.id}.git"
            self._repos[project.id] = Repository(path)
        return self._repos[project.id]

    def close_repositories(self) -> None:
        """Stop every repository's reader process."""
        for repository in self._repos.values():
            repository.close()
        self._repos.clear()

    def user_for_token(self, kind: str, token: str) -> User | None:
        """Return the user a token authenticates, or None."""
        for resolve in self.token_resolvers:
            user = resolve(kind, token)
            if user is not None:
                return user
        return None

    def _personal_token(self, kind: str, token: str) -> User | None:
        if kind != "private":
            return None
        for record in self.store.rows("tokens"):
            if not record.revoked and hmac.compare_digest(record.token, token):
                user = self.store.get("users", record.user_id)
                return user if user and user.state == "active" else None
        return None


def route_name(request: web.Request) -> str:
    """Return the route pattern of ``request``, e.g. ``/api/v4/projects/:id``."""
    route = getattr(request.match_info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None:
        return "(unmatched)"
    return re.sub(r"\{(\w+)(:[^}]*)?\}", r":\1", resource.canonical)


@web.middleware
async def request_log_middleware(
    request: web.Request, handler: Any
) -> web.StreamResponse:
    """Record method, route, status and duration of every request."""
    started = time.monotonic()
    status = 0
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        state = request.app[STATE_KEY]
        elapsed = (time.monotonic() - started) * 1000
        state.request_log.record(
            request.method, route_name(request), request.path, status, elapsed
        )


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer in GitLab's error shapes; save the store after writes."""
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.content_type != "application/json" and error.status in (404, 405):
            raise grape_error(404, "404 Not Found") from None
        raise
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("sandbox handler failed", extra={"path": request.path})
        raise api_error(500, "500 Internal Server Error") from None
    finally:
        if request.method in WRITE_METHODS:
            request.app[STATE_KEY].store.save()
    return response


@web.middleware
async def fault_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Apply the first pending fault matching the request."""
    fault = request.app[STATE_KEY].faults.take(request.method, request.path)
    if fault is None:
        return await handler(request)
    if fault.after:
        await handler(request)  # a refusal raises here and is answered as is
    if fault.drop:
        if request.transport is not None:
            request.transport.abort()
        # Nothing reaches the client: aiohttp skips writing to an aborted transport.
        return web.Response(status=499)
    if fault.delay_ms is not None:
        await asyncio.sleep(fault.delay_ms / 1000)
        return await handler(request)
    if fault.status == 429:
        error = api_error(
            429,
            {
                "error": "This endpoint has been requested too many times. "
                "Try again later."
            },
        )
        error.headers["Retry-After"] = str(fault.retry_after)
        raise error
    reasons = {
        500: "500 Internal Server Error",
        502: "502 Bad Gateway",
        503: "503 Service Unavailable",
    }
    raise api_error(fault.status or 500, reasons.get(fault.status or 500))


def _token_of(request: web.Request) -> tuple[str, str] | None:
    headers = request.headers
    if "PRIVATE-TOKEN" in headers:
        return "private", headers["PRIVATE-TOKEN"]
    authorization = headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return "private", authorization[7:].strip()
    if "JOB-TOKEN" in headers:
        return "job", headers["JOB-TOKEN"]
    for key, kind in (
        ("private_token", "private"),
        ("access_token", "private"),
        ("job_token", "job"),
    ):
        if key in request.query:
            return kind, request.query[key]
    return None


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Resolve the token to a user; an unknown token is a 401."""
    found = _token_of(request)
    request[USER_KEY] = None
    if found is not None:
        user = request.app[STATE_KEY].user_for_token(*found)
        if user is None:
            raise api_error(401, "401 Unauthorized")
        request[USER_KEY] = user
        request[TOKEN_KIND_KEY] = found[0]
    return await handler(request)


def create_app(state: SandboxState) -> web.Application:
    """Return the sandbox application serving ``state``."""
    app = web.Application(
        middlewares=[
            request_log_middleware,
            error_middleware,
            fault_middleware,
            auth_middleware,
        ],
        client_max_size=64 * 1024 * 1024,
    )
    app[STATE_KEY] = state
    for name in ROUTE_MODULES:
        importlib.import_module(name).setup(app)

    async def close_webhooks(_: web.Application) -> None:
        await state.webhooks.close()

    app.on_cleanup.append(close_webhooks)
    return app
