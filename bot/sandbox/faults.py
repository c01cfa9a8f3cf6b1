"""Sandbox controls under ``/-/sandbox/``: faults, request log, webhook log.

Faults apply to the next N requests whose method and URL path match:
an error status (500/502/503, or 429 with Retry-After), a delay, or a
dropped connection. With ``"after": true`` an error status or a drop comes
once the request was handled (its change made, its webhooks queued): a lost
answer to a write that happened. A request the handler refuses keeps its
own answer. Webhook faults drop or duplicate deliveries.
Every control needs an administrator's token.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.http import (
    grape_error,
    params,
    require_admin,
    state_of,
    to_int,
)

ERROR_STATUSES = (500, 502, 503)
LOG_LIMIT = 10_000
CONTROL_PREFIX = "/-/sandbox/"


@dataclass
class Fault:
    """One injected fault and how many more requests it applies to."""

    method: str
    path: re.Pattern[str]
    remaining: int
    status: int | None = None
    retry_after: int | None = None
    delay_ms: int | None = None
    drop: bool = False
    after: bool = False

    def describe(self) -> dict[str, Any]:
        """Return the fault as the JSON it was created from."""
        shown: dict[str, Any] = {
            "method": self.method,
            "path": self.path.pattern,
            "count": self.remaining,
        }
        for key in ("status", "retry_after", "delay_ms"):
            if getattr(self, key) is not None:
                shown[key] = getattr(self, key)
        if self.drop:
            shown["drop"] = True
        if self.after:
            shown["after"] = True
        return shown


class Faults:
    """The pending request faults of one sandbox."""

    def __init__(self) -> None:
        self.rules: list[Fault] = []

    def take(self, method: str, path: str) -> Fault | None:
        """Return (and count down) the first fault matching the request."""
        if path.startswith(CONTROL_PREFIX):
            return None
        for rule in self.rules:
            if rule.method in (method, "*") and rule.path.search(path):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.rules.remove(rule)
                return rule
        return None


class RequestLog:
    """The last requests (method, route, status, duration) and counts per route."""

    def __init__(self) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.counts: Counter[str] = Counter()

    def record(
        self, method: str, route: str, path: str, status: int, ms: float
    ) -> None:
        """Add one answered (or dropped, status 0) request."""
        key = f"{method} {route}"
        self.counts[key] += 1
        self.entries.append(
            {
                "method": method,
                "route": route,
                "path": path,
                "status": status,
                "duration_ms": round(ms, 2),
            }
        )

    def clear(self) -> None:
        """Forget every logged request."""
        self.entries.clear()
        self.counts.clear()


def parse_fault(body: dict[str, Any]) -> Fault | tuple[str, int]:
    """Validate a fault request body; return a Fault or a webhook fault."""
    count = to_int(body.get("count", 1), "count")
    if count < 1:
        raise grape_error(400, "count must be at least 1")
    if "webhooks" in body:
        if body["webhooks"] not in ("drop", "duplicate"):
            raise grape_error(400, "webhooks does not have a valid value")
        return body["webhooks"], count
    method = str(body.get("method", "*")).upper()
    try:
        path = re.compile(str(body.get("path", ".*")))
    except re.error as error:
        raise grape_error(
            400, f"path is not a valid regular expression: {error}"
        ) from error
    fault = Fault(method, path, count)
    kinds = [
        k for k in ("status", "delay_ms", "drop") if body.get(k) not in (None, False)
    ]
    if len(kinds) != 1:
        raise grape_error(400, "exactly one of status, delay_ms, drop is required")
    if "status" in kinds:
        fault.status = to_int(body["status"], "status")
        if fault.status == 429:
            fault.retry_after = to_int(body.get("retry_after", 1), "retry_after")
        elif fault.status not in ERROR_STATUSES:
            raise grape_error(400, "status must be one of 429, 500, 502, 503")
    elif "delay_ms" in kinds:
        fault.delay_ms = to_int(body["delay_ms"], "delay_ms")
    else:
        fault.drop = True
    fault.after = _after(body, fault)
    return fault


def _after(body: dict[str, Any], fault: Fault) -> bool:
    """Validate ``after``: only a 5xx status or a drop can follow the handler."""
    after = body.get("after", False)
    if not isinstance(after, bool):
        raise grape_error(400, "after must be true or false")
    if after and not (fault.drop or fault.status in ERROR_STATUSES):
        raise grape_error(400, "after needs drop or a status of 500, 502, 503")
    return after


async def post_fault(request: web.Request) -> web.Response:
    """POST /-/sandbox/faults: add a request or webhook fault."""
    require_admin(request)
    state = state_of(request)
    fault = parse_fault(await params(request))
    if isinstance(fault, tuple):
        state.webhooks.add_fault(*fault)
        return web.json_response({"webhooks": fault[0], "count": fault[1]}, status=201)
    state.faults.rules.append(fault)
    return web.json_response(fault.describe(), status=201)


async def list_faults(request: web.Request) -> web.Response:
    """GET /-/sandbox/faults: the faults still pending."""
    require_admin(request)
    state = state_of(request)
    rules = [rule.describe() for rule in state.faults.rules]
    return web.json_response(rules + state.webhooks.pending_faults())


async def delete_faults(request: web.Request) -> web.Response:
    """DELETE /-/sandbox/faults: clear every fault."""
    require_admin(request)
    state = state_of(request)
    state.faults.rules.clear()
    state.webhooks.clear_faults()
    return web.Response(status=204)


async def get_requests(request: web.Request) -> web.Response:
    """GET /-/sandbox/requests: the request log and counts per route."""
    require_admin(request)
    log = state_of(request).request_log
    return web.json_response(
        {"requests": list(log.entries), "counts": dict(log.counts)}
    )


async def delete_requests(request: web.Request) -> web.Response:
    """DELETE /-/sandbox/requests: clear the request log."""
    require_admin(request)
    state_of(request).request_log.clear()
    return web.Response(status=204)


async def get_webhooks(request: web.Request) -> web.Response:
    """GET /-/sandbox/webhooks: every delivery attempt, oldest first."""
    require_admin(request)
    return web.json_response(list(state_of(request).webhooks.deliveries))


async def drain_webhooks(request: web.Request) -> web.Response:
    """POST /-/sandbox/webhooks/drain: answer once queued deliveries are done."""
    require_admin(request)
    await state_of(request).webhooks.drain()
    return web.json_response({"pending": 0})


def setup(app: web.Application) -> None:
    """Register the /-/sandbox/ control routes."""
    app.router.add_post("/-/sandbox/faults", post_fault)
    app.router.add_get("/-/sandbox/faults", list_faults)
    app.router.add_delete("/-/sandbox/faults", delete_faults)
    app.router.add_get("/-/sandbox/requests", get_requests)
    app.router.add_delete("/-/sandbox/requests", delete_requests)
    app.router.add_get("/-/sandbox/webhooks", get_webhooks)
    app.router.add_post("/-/sandbox/webhooks/drain", drain_webhooks)
