"""OpenAPI document, health, readiness, metrics, logs and the sweep."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient

from bot.server import deploy_body
from bot.server.logs import configure_logging
from bot.server.metrics import Metrics
from bot.server.router import HandlerContext, Router
from bot.server.sweep import jittered, sweep_forever
from tests.server.conftest import (
    GITLAB_TOKEN,
    WEB_TOKEN,
    WEBHOOK_SECRET,
    MakeBot,
)
from tests.server.identity import Identity

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def app_routes(bot: TestClient) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves."""
    return {
        (route.method, route.resource.canonical)
        for route in bot.app.router.routes()
        if route.method in METHODS
    }


def document_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every operation the document describes."""
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }


async def test_openapi_document_matches_the_routes(bot: TestClient) -> None:
    """Every route is documented, and every documented operation exists."""
    document = await (await bot.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert document_routes(document) == app_routes(bot)


async def test_openapi_deploy_schema_matches_the_parser(bot: TestClient) -> None:
    """The request schema lists exactly the fields the body parser accepts."""
    document = await (await bot.get("/api/v1/openapi.json")).json()
    schema = document["components"]["schemas"]["Deploy"]
    assert tuple(schema["properties"]) == deploy_body.TOP_FIELDS
    source = schema["properties"]["source"]["properties"]
    assert tuple(source) == deploy_body.SOURCE_FIELDS
    responses = document["paths"]["/api/v1/deployments"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403", "404", "409", "413", "415"} <= set(
        responses
    )
    assert "503" in responses


async def test_healthz_answers_without_gitlab(bot: TestClient) -> None:
    """/healthz says the process is alive even when GitLab is unreachable."""
    answer = await bot.get("/healthz")
    assert (answer.status, await answer.json()) == (200, {"status": "ok"})


async def test_metrics_count_outcomes_per_instance(make_bot: MakeBot) -> None:
    """/metrics counts deploy outcomes and webhooks, per app instance."""
    first = await make_bot()
    second = await make_bot()
    await first.post("/api/v1/deployments", json={})
    await first.post("/webhooks/gitlab", json={"object_kind": "push"},
                     headers={"X-Gitlab-Token": WEBHOOK_SECRET})  # fmt: skip

    text = await (await first.get("/metrics")).text()
    assert 'gitops_bot_deploy_requests_total{outcome="refused_401"} 1.0' in text
    assert 'gitops_bot_webhook_events_total{kind="push",outcome="ignored"} 1.0' in text
    assert "gitops_bot_pending_events 0.0" in text
    other = await (await second.get("/metrics")).text()
    assert "refused_401" not in other


async def test_metrics_read_gitlab_calls_from_the_adapter(bot: TestClient) -> None:
    """GitLab calls by route and status come from the adapter's counters."""
    await bot.post(
        "/api/v1/deployments",
        json={"app": "web", "environment": "staging", "tag": "v1.0.0"},
        headers={"Authorization": f"Bearer {WEB_TOKEN}"},
    )
    text = await (await bot.get("/metrics")).text()
    assert 'gitops_bot_gitlab_calls_total{route="GET /projects/:id/' in text
    assert 'status="no-answer"' in text
    assert "gitops_bot_gitlab_retries_total{" in text


async def test_logs_are_json_with_request_ids_and_no_secrets(
    make_bot: MakeBot, identity: Identity
) -> None:
    """Every line is JSON with a request id; no token or secret appears."""
    stream = io.StringIO()
    handler = configure_logging(stream, json=True, level=logging.DEBUG)
    try:
        bot = await make_bot()
        id_token = identity.id_token("shop/web")
        for auth in (f"Bearer {WEB_TOKEN}", f"Bearer {id_token}", "Bearer wrong"):
            await bot.post(
                "/api/v1/deployments",
                json={"app": "api", "environment": "staging", "tag": "v1.0.0"},
                headers={"Authorization": auth, "X-Request-Id": "req-42"},
            )
        await bot.post("/webhooks/gitlab", json={},
                       headers={"X-Gitlab-Token": WEBHOOK_SECRET + "x"})  # fmt: skip
    finally:
        logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()

    output = stream.getvalue()
    for secret in (WEB_TOKEN, id_token, WEBHOOK_SECRET, GITLAB_TOKEN):
        assert secret not in output
    lines = [line for line in output.splitlines() if '"http_request"' in line]
    assert len(lines) == 4
    assert all('"request_id": "req-42"' in line for line in lines[:3])


def test_jitter_stays_within_a_fifth() -> None:
    """The sweep interval moves by at most 20 % either way."""
    assert jittered(60, lambda low, high: low) == pytest.approx(48)
    assert jittered(60, lambda low, high: high) == pytest.approx(72)


async def test_sweep_runs_every_registered_sweep_and_survives_failures() -> None:
    """Each run calls every sweep; one raising does not stop the others."""
    calls: list[str] = []
    sleeps: list[float] = []

    async def broken(context: HandlerContext) -> None:
        raise RuntimeError("boom")

    async def healthy(context: HandlerContext) -> None:
        calls.append(context.delivery_id)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > 2:
            raise StopAsyncIteration

    router = Router()
    router.add_sweep(broken)
    router.add_sweep(healthy)
    metrics = Metrics()
    with pytest.raises(StopAsyncIteration):
        await sweep_forever(
            router,
            lambda run: HandlerContext(None, None, metrics, run),
            metrics,
            30,
            sleep=sleep,
            draw=lambda low, high: 1.0,
        )
    assert sleeps == [30, 30, 30]
    assert len(calls) == 2 and all(run.startswith("sweep-") for run in calls)
    assert metrics.handler_errors.labels("sweep")._value.get() == 2


def test_routers_compose_in_order() -> None:
    """A composed router holds each feature's handlers and sweeps in order."""

    async def one(event: Any, context: HandlerContext) -> None: ...

    async def two(event: Any, context: HandlerContext) -> None: ...

    from bot.server.events import NoteEvent

    first, second = Router(), Router()
    first.register(NoteEvent, one)
    second.register(NoteEvent, two)
    second.add_sweep(one)
    composed = Router(first, second)
    note = NoteEvent("p", 1, "MergeRequest", 1, 1, "a", "", "create", False)
    assert composed.handlers_for(note) == (one, two)
    assert composed.sweeps == (one,)
