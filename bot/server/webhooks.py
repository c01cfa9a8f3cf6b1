"""``POST /webhooks/gitlab``: check, parse, de-duplicate, queue; work later.

GitLab waits at most ~10 s for an answer and disables hooks that keep
failing, so the endpoint only does what is cheap: secret, size, JSON,
parsing into our event values, project, duplicates; then 202 and a bounded
queue. Workers hand each event to the composed router's handlers, each one
inside the server's only catch-all: a handler that raises is logged and
counted, and the next handler and the next event still run. While an
event is handled its delivery id is bound as the ``request_id`` of every
log line and GitLab call it causes.

Two delays are measured: the wait in our queue, and the lag from the
event's own timestamp in its payload (when GitLab queued it, roughly), which
also shows delays in GitLab's hook queue.

Every delivery is counted by kind and outcome, refusals included (a wrong
secret, a bad or oversized body, a full queue). The kind label is one of
GitLab's event kinds or ``unknown``, never text a sender chose freely.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web

from bot.errors import GitopsBotError
from bot.server.edge import (
    PayloadTooLarge,
    decode_json,
    ensure_utf8_charset,
    read_limited,
)
from bot.server.events import Event, parse_event
from bot.server.id_tokens import Unauthorized
from bot.server.metrics import Metrics
from bot.server.router import HandlerContext, Router

log = structlog.get_logger(__name__)

SEEN_DELIVERIES = 10_000
RETRY_AFTER_FULL = "5"
# GitLab writes "2013-12-03T17:23:34Z" in some payloads and
# "2015-05-17 18:21:36 UTC" (or "+0200") in others.
_TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?"
    r"\s*(Z|UTC|[+-]\d\d:?\d\d)?"
)
# GitLab's X-Gitlab-Event header and the object_kind it announces; see
# https://docs.gitlab.com/user/project/integrations/webhook_events/
# Coupling: every kind bot.server.events parses must be among the values.
_HEADER_KINDS = {
    "Push Hook": "push",
    "Tag Push Hook": "tag_push",
    "Issue Hook": "issue",
    "Confidential Issue Hook": "issue",
    "Note Hook": "note",
    "Confidential Note Hook": "note",
    "Merge Request Hook": "merge_request",
    "Wiki Page Hook": "wiki_page",
    "Pipeline Hook": "pipeline",
    "Job Hook": "build",
    "Deployment Hook": "deployment",
    "Feature Flag Hook": "feature_flag",
    "Release Hook": "release",
    "Milestone Hook": "milestone",
    "Emoji Hook": "emoji",
    "Resource Access Token Hook": "access_token",
    "Vulnerability Hook": "vulnerability",
    "Member Hook": "member",
    "Subgroup Hook": "subgroup",
    "Project Hook": "project",
}
KNOWN_KINDS = frozenset({*_HEADER_KINDS.values(), "work_item"})
UNKNOWN_KIND = "unknown"
# Where each kind keeps the time of its latest change, first found wins.
_TIME_FIELDS = {
    "pipeline": ("finished_at", "created_at"),
    "merge_request": ("updated_at", "created_at"),
    "note": ("updated_at", "created_at"),
    "emoji": ("updated_at", "created_at"),
}


@dataclass(frozen=True)
class Delivery:
    """An accepted event waiting for its handlers."""

    delivery_id: str
    kind: str
    event: Event
    received_at: float
    occurred_at: float | None = None


class SeenDeliveries:
    """A bounded memory of delivery keys, forgetting the oldest first."""

    def __init__(self, capacity: int = SEEN_DELIVERIES) -> None:
        """Remember at most ``capacity`` keys."""
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def has_any(self, keys: Iterable[str]) -> bool:
        """Whether any of ``keys`` was remembered (and is still)."""
        return any(key in self._keys for key in keys)

    def remember(self, keys: Iterable[str]) -> None:
        """Remember ``keys``, dropping the oldest past the capacity."""
        for key in keys:
            self._keys[key] = None
            self._keys.move_to_end(key)
        while len(self._keys) > self._capacity:
            self._keys.popitem(last=False)


def delivery_keys(headers: Mapping[str, str]) -> list[str]:
    """The keys that identify a delivery, for de-duplication.

    ``Idempotency-Key`` is stable across redeliveries (GitLab 17.4+); the
    event UUID with the event kind also catches one event sent by a project
    hook and a group hook (hooks triggered by hooks share the UUID, hence
    the kind).
    """
    keys = []
    if idempotency := headers.get("Idempotency-Key"):
        keys.append(f"delivery:{idempotency}")
    if event_uuid := headers.get("X-Gitlab-Event-UUID"):
        keys.append(f"event:{event_uuid}:{headers.get('X-Gitlab-Event', '')}")
    return keys


class WebhookIntake:
    """The webhook endpoint and the workers that drain its queue."""

    def __init__(
        self,
        *,
        secret: str,
        project_path: str,
        router: Router,
        make_context: Callable[[str], HandlerContext],
        metrics: Metrics,
        max_pending: int,
        max_body_bytes: int,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """Accept events of ``project_path`` signed with ``secret``.

        ``clock`` times the queue; ``wall_clock`` (seconds since the epoch)
        is compared with the events' own timestamps.
        """
        self._secret = secret.encode()
        self._project_path = project_path
        self._router = router
        self._make_context = make_context
        self._metrics = metrics
        self._max_body_bytes = max_body_bytes
        self._clock = clock
        self._wall_clock = wall_clock
        self._seen = SeenDeliveries()
        self.queue: asyncio.Queue[Delivery] = asyncio.Queue(maxsize=max_pending)
        self._workers = 0
        self._interrupted: list[Delivery] = []
        metrics.pending_events.set_function(self.queue.qsize)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one delivery: 202 queued, 200 ignored or duplicate, or refuse."""
        kind, payload, event = await self._read_delivery(request)
        if event is None:
            return self._ignored(
                kind, f"{_kind_of(payload) or 'unknown'} events are not handled"
            )
        if event.project_path != self._project_path:
            return self._ignored(kind, f"event from {event.project_path}")

        keys = delivery_keys(request.headers)
        if self._seen.has_any(keys):
            self._metrics.webhook_events.labels(kind, "duplicate").inc()
            return web.json_response({"status": "duplicate"})
        delivery_id = keys[0].partition(":")[2] if keys else _local_id()
        delivery = Delivery(
            delivery_id, kind, event, self._clock(), event_timestamp(payload)
        )
        return self._enqueue(delivery, keys)

    async def _read_delivery(
        self, request: web.Request
    ) -> tuple[str, Any, Event | None]:
        """Check and parse a delivery into (kind label, payload, event or None);
        a refusal is counted under the kind known so far, then raised."""
        header = request.headers.get("X-Gitlab-Event")
        kind = kind_label(None, header)
        try:
            self._ensure_secret(request.headers.get("X-Gitlab-Token"))
            ensure_utf8_charset(request)
            payload = decode_json(await read_limited(request, self._max_body_bytes))
            kind = kind_label(payload, header)
            return kind, payload, parse_event(payload)
        except GitopsBotError as error:
            self._metrics.webhook_events.labels(kind, refusal_outcome(error)).inc()
            raise

    def _ensure_secret(self, given: str | None) -> None:
        if given is None:
            raise Unauthorized("X-Gitlab-Token header is missing")
        # Constant time: how much of the secret matched must not show.
        if not hmac.compare_digest(given.encode(), self._secret):
            raise Unauthorized("X-Gitlab-Token does not match the webhook secret")

    def _ignored(self, kind: str, reason: str) -> web.Response:
        self._metrics.webhook_events.labels(kind, "ignored").inc()
        log.debug("webhook_ignored", kind=kind, reason=reason)
        return web.json_response({"status": "ignored", "reason": reason})

    def _enqueue(self, delivery: Delivery, keys: list[str]) -> web.Response:
        try:
            self.queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self._metrics.webhook_events.labels(delivery.kind, "refused").inc()
            log.warning("webhook_queue_full", delivery=delivery.delivery_id)
            return web.json_response(
                {"error": "Service Unavailable", "message": "too much pending work"},
                status=503,
                headers={"Retry-After": RETRY_AFTER_FULL},
            )
        # Only once queued: a refused delivery must count as new when resent.
        self._seen.remember(keys)
        self._metrics.webhook_events.labels(delivery.kind, "queued").inc()
        log.info("webhook_queued", kind=delivery.kind, delivery=delivery.delivery_id)
        return web.json_response(
            {"status": "queued", "delivery": delivery.delivery_id}, status=202
        )

    async def work(self) -> None:
        """Hand queued events to their handlers, forever (cancel to stop).

        When the last worker stops, the events still queued (and those cut
        off in their handlers) are dropped with one warning: GitLab is the
        state, and the next sweep heals what they were about.
        """
        self._workers += 1
        delivery: Delivery | None = None
        try:
            while True:
                delivery = await self.queue.get()
                try:
                    await self._dispatch(delivery)
                finally:
                    self.queue.task_done()
                delivery = None
        finally:
            self._workers -= 1
            self._worker_stopped(delivery)

    def _worker_stopped(self, interrupted: Delivery | None) -> None:
        """Count what a stopping worker leaves; the last one logs it all."""
        if interrupted is not None:
            self._interrupted.append(interrupted)
        if self._workers > 0:
            return

        in_progress = len(self._interrupted)
        dropped = [*self._interrupted, *self._drain_queue()]
        self._interrupted.clear()
        if dropped:
            kinds = Counter(delivery.kind for delivery in dropped)
            log.warning(
                "webhook_events_dropped",
                count=len(dropped),
                kinds=dict(sorted(kinds.items())),
                in_progress=in_progress,
                healed_by="the next sweep",
            )

    def _drain_queue(self) -> list[Delivery]:
        """Take every delivery still queued."""
        taken = []
        while not self.queue.empty():
            taken.append(self.queue.get_nowait())
            self.queue.task_done()
        return taken

    async def _dispatch(self, delivery: Delivery) -> None:
        self._observe_delays(delivery)
        context = self._make_context(delivery.delivery_id)

        with structlog.contextvars.bound_contextvars(
            request_id=delivery.delivery_id, kind=delivery.kind
        ):
            for handler in self._router.handlers_for(delivery.event):
                try:
                    await handler(delivery.event, context)
                except Exception:  # the catch-all: one bad event never stops us
                    self._metrics.handler_errors.labels(delivery.kind).inc()
                    log.exception("webhook_handler_failed", handler=_name(handler))

    def _observe_delays(self, delivery: Delivery) -> None:
        """Record the wait in our queue and, if known, the lag since the event."""
        waited = self._clock() - delivery.received_at
        self._metrics.webhook_queue_wait.labels(delivery.kind).observe(max(waited, 0))
        if delivery.occurred_at is not None:
            lag = self._wall_clock() - delivery.occurred_at
            self._metrics.webhook_lag.labels(delivery.kind).observe(max(lag, 0.0))


def event_timestamp(payload: object) -> float | None:
    """When the event's object last changed (seconds since the epoch), if the
    payload says; None for kinds without a time or an unreadable one."""
    if not isinstance(payload, dict):
        return None
    attributes = payload.get("object_attributes")
    if not isinstance(attributes, dict):
        return None
    for name in _TIME_FIELDS.get(_kind_of(payload), ()):
        value = attributes.get(name)
        if isinstance(value, str) and (parsed := parse_timestamp(value)) is not None:
            return parsed
    return None


def parse_timestamp(text: str) -> float | None:
    """Seconds since the epoch for one of GitLab's timestamp spellings; a time
    without a zone is UTC. None when ``text`` is none of them."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    clock += (fraction or "")[:7]  # microseconds at most
    offset = "+00:00" if zone in (None, "Z", "UTC") else zone
    if len(offset) == 5:  # "+0200"
        offset = f"{offset[:3]}:{offset[3:]}"
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}{offset}")
    except ValueError:  # month 13, hour 25...
        return None
    return moment.astimezone(UTC).timestamp()


def kind_label(payload: object, header: str | None) -> str:
    """The event kind to count a delivery under: the payload's object_kind,
    else the X-Gitlab-Event header's, when GitLab knows it; else ``unknown``."""
    if (kind := _kind_of(payload)) in KNOWN_KINDS:
        return kind
    return _HEADER_KINDS.get(header or "", UNKNOWN_KIND)


def refusal_outcome(error: GitopsBotError) -> str:
    """The outcome label of a refused delivery: ``unauthorized`` (401),
    ``too_large`` (413) or ``malformed`` (not JSON in UTF-8, or a handled
    kind lacking a field)."""
    if isinstance(error, Unauthorized):
        return "unauthorized"
    if isinstance(error, PayloadTooLarge):
        return "too_large"
    return "malformed"


def _kind_of(payload: object) -> str:
    kind = payload.get("object_kind") if isinstance(payload, dict) else None
    return kind if isinstance(kind, str) else ""


def _name(handler: Callable) -> str:
    return getattr(handler, "__qualname__", repr(handler))


def _local_id() -> str:
    return f"local-{uuid.uuid4().hex}"
