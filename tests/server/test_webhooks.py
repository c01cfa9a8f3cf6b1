"""``POST /webhooks/gitlab``: secret, limits, parsing, de-duplication, queue.

Handlers are registered on a router like a feature would register them;
they record what they receive, so each test sees what was processed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.server import keys
from bot.server.events import MergeRequestEvent, NoteEvent
from bot.server.router import HandlerContext, Router
from bot.server.webhooks import SeenDeliveries
from tests.server.conftest import WEBHOOK_SECRET, MakeBot

URL = "/webhooks/gitlab"
OWN = Path(__file__).resolve().parent.parent / "data" / "server" / "webhooks"


def payload(name: str) -> dict[str, Any]:
    """One of our own webhook payloads."""
    return json.loads((OWN / f"{name}.json").read_text())


def headers(delivery: str = "d-1", secret: str | None = WEBHOOK_SECRET) -> dict:
    """Delivery headers as GitLab sends them."""
    sent = {"X-Gitlab-Event": "Merge Request Hook", "Idempotency-Key": delivery}
    if secret is not None:
        sent["X-Gitlab-Token"] = secret
    return sent


class Recorder:
    """A feature's router whose handlers remember what they were given."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.arrived = asyncio.Event()
        self.router = Router()
        self.router.register(MergeRequestEvent, self.record)
        self.router.register(NoteEvent, self.record)

    async def record(self, event: Any, context: HandlerContext) -> None:
        self.events.append((event, context.delivery_id))
        self.arrived.set()


@pytest.fixture
async def recorder() -> Recorder:
    """A fresh recording feature."""
    return Recorder()


@pytest.fixture
async def hooked(make_bot: MakeBot, recorder: Recorder) -> TestClient:
    """The bot with the recording feature registered."""
    return await make_bot(routers=[recorder.router])


async def drained(bot: TestClient) -> None:
    """Wait until every queued event was handled."""
    await bot.app[keys.INTAKE].queue.join()


async def webhook_counts(bot: TestClient) -> dict[tuple[str, str], float]:
    """gitops_bot_webhook_events_total from /metrics, by (kind, outcome)."""
    text = await (await bot.get("/metrics")).text()
    return {
        (sample.labels["kind"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "gitops_bot_webhook_events_total"
    }


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "X-Gitlab-Token header is missing"),
        ("whsec-forged", "X-Gitlab-Token does not match the webhook secret"),
        ("", "X-Gitlab-Token does not match the webhook secret"),
    ],
)
async def test_wrong_or_missing_secret_is_401_and_nothing_processed(
    hooked: TestClient, recorder: Recorder, secret: str | None, message: str
) -> None:
    """A forged or absent secret is refused before the body is even read."""
    answer = await hooked.post(
        URL, json=payload("merge_request"), headers=headers(secret=secret)
    )
    assert answer.status == 401
    assert (await answer.json())["message"] == message
    await drained(hooked)
    assert recorder.events == []
    assert hooked.app[keys.INTAKE].queue.qsize() == 0


async def test_event_is_queued_and_handled(
    hooked: TestClient, recorder: Recorder
) -> None:
    """A merge request event answers 202 and reaches the feature's handler."""
    answer = await hooked.post(URL, json=payload("merge_request"), headers=headers())
    assert answer.status == 202
    assert await answer.json() == {"status": "queued", "delivery": "d-1"}
    await drained(hooked)
    [(event, delivery)] = recorder.events
    assert isinstance(event, MergeRequestEvent)
    assert (event.iid, delivery) == (3, "d-1")


async def test_duplicate_delivery_is_processed_once(
    hooked: TestClient, recorder: Recorder
) -> None:
    """The same Idempotency-Key twice: one handling, the second says duplicate."""
    first = await hooked.post(URL, json=payload("note"), headers=headers("d-7"))
    second = await hooked.post(URL, json=payload("note"), headers=headers("d-7"))
    assert (first.status, second.status) == (202, 200)
    assert await second.json() == {"status": "duplicate"}
    await drained(hooked)
    assert len(recorder.events) == 1


async def test_same_event_from_two_hooks_is_processed_once(
    hooked: TestClient, recorder: Recorder
) -> None:
    """Project and group hook deliveries of one event share its event UUID."""
    for delivery in ("d-project", "d-group"):
        sent = {**headers(delivery), "X-Gitlab-Event-UUID": "event-1"}
        await hooked.post(URL, json=payload("note"), headers=sent)
    await drained(hooked)
    assert len(recorder.events) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"object_kind": "note",', "body is not valid JSON"),
        (b"\x80\x81", "body is not valid JSON: not UTF-8"),
        (b'{"object_kind": "note"}', "webhook field object_attributes: expected"),
    ],
)
async def test_malformed_bodies_are_400(
    hooked: TestClient, recorder: Recorder, body: bytes, message: str
) -> None:
    """Malformed JSON, or a handled kind missing fields, is refused with 400."""
    answer = await hooked.post(URL, data=body, headers=headers())
    assert answer.status == 400
    assert (await answer.json())["message"].startswith(message)
    assert recorder.events == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"object_kind": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
            "body nests arrays and objects deeper than 64 levels",
        ),
        (
            b'{"object_kind": "note", "object_kind": "push"}',
            "body has the key 'object_kind' twice in one object",
        ),
    ],
)
async def test_deep_or_repeated_json_is_400(
    hooked: TestClient, recorder: Recorder, body: bytes, message: str
) -> None:
    """GitLab never nests deeply nor repeats a key: such a body is refused."""
    answer = await hooked.post(URL, data=body, headers=headers())
    assert answer.status == 400
    assert (await answer.json())["message"] == message
    await drained(hooked)
    assert recorder.events == []


async def test_charset_other_than_utf8_is_415(
    hooked: TestClient, recorder: Recorder
) -> None:
    """A delivery declared in latin-1 is refused, not misread as UTF-8."""
    sent = {**headers(), "Content-Type": "application/json; charset=latin-1"}
    answer = await hooked.post(
        URL, data=json.dumps(payload("note")).encode("latin-1"), headers=sent
    )
    assert answer.status == 415
    message = (await answer.json())["message"]
    assert message == "Content-Type charset must be utf-8, not latin-1"
    await drained(hooked)
    assert recorder.events == []


async def test_large_comment_event_is_handled(
    hooked: TestClient, recorder: Recorder
) -> None:
    """A 1 MB comment (GitLab's limit) is within server.max_webhook_bytes."""
    big = payload("note")
    big["object_attributes"]["note"] = "/gitops status\n" + "x" * 1_000_000
    answer = await hooked.post(URL, json=big, headers=headers())
    assert answer.status == 202
    await drained(hooked)
    [(event, _)] = recorder.events
    assert len(event.body) > 1_000_000


async def test_body_over_max_webhook_bytes_is_413(
    make_bot: MakeBot, recorder: Recorder
) -> None:
    """A body over server.max_webhook_bytes is refused and not processed."""
    bot = await make_bot(routers=[recorder.router], max_webhook_bytes=16384)
    big = payload("note")
    big["object_attributes"]["note"] = "x" * 20_000
    answer = await bot.post(URL, json=big, headers=headers())
    assert answer.status == 413
    message = (await answer.json())["message"]
    assert message == "body is larger than the limit of 16384 bytes"
    await drained(bot)
    assert recorder.events == []


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("push", {}, "push events are not handled"),
        (
            "note",
            {"project": {"path_with_namespace": "shop/web"}},
            "event from shop/web",
        ),
    ],
)
async def test_other_kinds_and_projects_are_acknowledged_and_ignored(
    hooked: TestClient,
    recorder: Recorder,
    name: str,
    change: dict[str, Any],
    reason: str,
) -> None:
    """Unhandled kinds and other projects' events: 200, ignored, not queued."""
    answer = await hooked.post(URL, json={**payload(name), **change}, headers=headers())
    assert answer.status == 200
    assert await answer.json() == {"status": "ignored", "reason": reason}
    await drained(hooked)
    assert recorder.events == []


async def test_failing_handler_does_not_stop_the_next(
    make_bot: MakeBot, recorder: Recorder
) -> None:
    """One handler raising is logged; the next handler and event still run."""

    async def explode(event: Any, context: HandlerContext) -> None:
        raise RuntimeError("boom")

    broken = Router()
    broken.register(NoteEvent, explode)
    bot = await make_bot(routers=[broken, recorder.router])
    for delivery in ("d-1", "d-2"):
        await bot.post(URL, json=payload("note"), headers=headers(delivery))
    await drained(bot)
    assert [delivery for _, delivery in recorder.events] == ["d-1", "d-2"]
    metrics = await (await bot.get("/metrics")).text()
    assert 'gitops_bot_handler_errors_total{kind="note"} 2.0' in metrics


async def test_full_queue_is_503_and_the_delivery_is_not_remembered(
    make_bot: MakeBot,
) -> None:
    """Past server.max_pending_events: 503 + Retry-After; a resend is accepted."""
    release = asyncio.Event()
    started = asyncio.Semaphore(0)

    async def stuck(event: Any, context: HandlerContext) -> None:
        started.release()
        await release.wait()

    router = Router()
    router.register(NoteEvent, stuck)
    bot = await make_bot(routers=[router])
    for n in range(4):  # one per worker, all held
        await bot.post(URL, json=payload("note"), headers=headers(f"w-{n}"))
        await started.acquire()
    for n in range(2):  # fills the queue (max_pending_events: 2)
        assert (
            await bot.post(URL, json=payload("note"), headers=headers(f"q-{n}"))
        ).status == 202

    refused = await bot.post(URL, json=payload("note"), headers=headers("late"))
    assert refused.status == 503
    assert refused.headers["Retry-After"] == "5"
    release.set()
    await drained(bot)
    resent = await bot.post(URL, json=payload("note"), headers=headers("late"))
    assert resent.status == 202
    counts = await webhook_counts(bot)
    assert (counts[("note", "refused")], counts[("note", "queued")]) == (1, 7)


BIG_NOTE = json.dumps(
    {**payload("note"), "object_attributes": {"note": "x" * 20_000}}
).encode()


@pytest.mark.parametrize(
    ("sent", "body", "status", "counted"),
    [
        ({"X-Gitlab-Token": None}, payload("merge_request"),
         401, ("merge_request", "unauthorized")),
        ({"X-Gitlab-Token": "forged", "X-Gitlab-Event": "Note Hook"},
         payload("note"), 401, ("note", "unauthorized")),
        ({"X-Gitlab-Token": "forged", "X-Gitlab-Event": "Anything {at} all"},
         payload("note"), 401, ("unknown", "unauthorized")),
        ({"X-Gitlab-Event": None}, b'{"object_kind": "note",',
         400, ("unknown", "malformed")),
        ({}, b"\x80\x81", 400, ("merge_request", "malformed")),
        ({}, {"object_kind": "note"}, 400, ("note", "malformed")),
        ({"Content-Type": "application/json; charset=latin-1"},
         payload("merge_request"), 415, ("merge_request", "malformed")),
        ({"X-Gitlab-Event": "Note Hook"}, BIG_NOTE, 413, ("note", "too_large")),
    ],
)  # fmt: skip
async def test_refused_deliveries_are_counted_by_reason(
    make_bot: MakeBot,
    recorder: Recorder,
    sent: dict[str, str | None],
    body: Any,
    status: int,
    counted: tuple[str, str],
) -> None:
    """A wrong or missing secret, a bad or oversized body: each refusal counts
    once under its outcome, the kind from the payload or a known
    X-Gitlab-Event header (else ``unknown``), and nothing is queued."""
    bot = await make_bot(routers=[recorder.router], max_webhook_bytes=16384)
    merged = {**headers(), **sent}
    chosen = {name: value for name, value in merged.items() if value is not None}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    answer = await bot.post(URL, data=data, headers=chosen)

    assert answer.status == status
    assert await webhook_counts(bot) == {counted: 1.0}
    await drained(bot)
    assert recorder.events == []


async def test_a_kind_gitlab_does_not_send_is_counted_as_unknown(
    hooked: TestClient,
) -> None:
    """An unhandled object_kind of the sender's own invention is ignored and
    counted under kind ``unknown``, never under the text it sent."""
    sent = {**headers(), "X-Gitlab-Event": "Made Up Hook"}
    answer = await hooked.post(URL, json={"object_kind": "made_up_1"}, headers=sent)

    assert await answer.json() == {
        "status": "ignored",
        "reason": "made_up_1 events are not handled",
    }
    assert await webhook_counts(hooked) == {("unknown", "ignored"): 1.0}


def test_seen_deliveries_forget_the_oldest() -> None:
    """The de-duplication memory is bounded and drops the oldest keys first."""
    seen = SeenDeliveries(capacity=2)
    seen.remember(["a"])
    seen.remember(["b"])
    seen.remember(["c"])
    assert not seen.has_any(["a"])
    assert seen.has_any(["b"]) and seen.has_any(["x", "c"])
