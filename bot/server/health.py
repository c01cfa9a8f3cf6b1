"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz``
(GitLab answers too) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import generate_latest

from bot.server import keys
from bot.server.metrics import CONTENT_TYPE


async def get_healthz(request: web.Request) -> web.Response:
    """Answer 200 while the process serves requests."""
    return web.json_response({"status": "ok"})


async def get_readyz(request: web.Request) -> web.Response:
    """Answer 200 when GitLab is reachable, else 503 saying why."""
    state = await request.app[keys.READINESS].fetch_state()
    return web.json_response(
        {"status": "ready" if state.ready else "unavailable", "detail": state.detail},
        status=200 if state.ready else 503,
    )


async def get_metrics(request: web.Request) -> web.Response:
    """Answer this instance's metrics in Prometheus' text format."""
    body = generate_latest(request.app[keys.METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
