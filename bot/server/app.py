"""The application factory: one configured server instance, nothing global.

``create_app`` only wires values together; work that needs the running
loop (HTTP sessions, background workers, the sweep) happens in cleanup
contexts, started with the app and stopped with it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

import aiohttp
from aiohttp import web

from bot.config import Config
from bot.config.secrets import read_server_secrets
from bot.gitlab import GitLab
from bot.jobs import connect
from bot.server import keys
from bot.server.auth import Authenticator, JobTokenVerifier
from bot.server.deployments import TimedLocks, get_deployment, post_deployment
from bot.server.features import default_routers
from bot.server.health import get_healthz, get_metrics, get_readyz
from bot.server.id_tokens import IdTokenVerifier, KeySet
from bot.server.metrics import Metrics, Sources
from bot.server.middleware import error_middleware, request_id_middleware
from bot.server.openapi import get_openapi
from bot.server.readiness import Readiness
from bot.server.router import HandlerContext, Router
from bot.server.sweep import sweep_forever
from bot.server.webhooks import WebhookIntake

WEBHOOK_WORKERS = 4
OUTBOUND_TIMEOUT = aiohttp.ClientTimeout(total=10)


def create_app(
    config: Config,
    *,
    gitlab: GitLab | None = None,
    clock: Callable[[], float] = time.monotonic,
    routers: Sequence[Router] | None = None,
    environ: Mapping[str, str] | None = None,
) -> web.Application:
    """Return the server for ``config``.

    ``gitlab`` defaults to an adapter built from the configuration and the
    token in ``environ`` (the process environment by default), closed with
    the app; ``routers`` default to the features of ``default_routers``.
    Secrets are read here, so that missing ones fail before serving, all
    named in one error.
    """
    environ = os.environ if environ is None else environ
    secrets = read_server_secrets(config, environ)
    owned = gitlab is None
    gitlab = gitlab or connect(config, secrets.gitlab_token)
    metrics = Metrics(_sources(gitlab))
    router = Router(*(default_routers() if routers is None else routers))

    app = web.Application(middlewares=[request_id_middleware, error_middleware])
    app[keys.CONFIG] = config
    app[keys.GITLAB] = gitlab
    app[keys.METRICS] = metrics
    app[keys.ROUTER] = router
    app[keys.LOCKS] = TimedLocks(metrics, clock)
    app[keys.INTAKE] = _intake(app, secrets.webhook_secret, clock)

    outbound = _outbound(secrets.static_tokens, secrets.gitlab_token, clock)
    app.cleanup_ctx.append(outbound)
    app.cleanup_ctx.append(_background_work)
    if owned:
        app.on_cleanup.append(_close_gitlab)
    _add_routes(app)
    return app


def _intake(
    app: web.Application, secret: str, clock: Callable[[], float]
) -> WebhookIntake:
    """The webhook intake over the app's router, metrics and limits."""
    config = app[keys.CONFIG]
    return WebhookIntake(
        secret=secret,
        project_path=config.gitlab.project,
        router=app[keys.ROUTER],
        make_context=lambda delivery: _context(app, delivery),
        metrics=app[keys.METRICS],
        max_pending=config.server.max_pending_events,
        max_body_bytes=config.server.max_webhook_bytes,
        clock=clock,
    )


def _add_routes(app: web.Application) -> None:
    intake = app[keys.INTAKE]
    app.router.add_post("/api/v1/deployments", post_deployment)
    app.router.add_get("/api/v1/deployments/{app}/{environment}", get_deployment)
    app.router.add_get("/api/v1/openapi.json", get_openapi)
    app.router.add_post("/webhooks/gitlab", intake.handle)
    app.router.add_get("/healthz", get_healthz)
    app.router.add_get("/readyz", get_readyz)
    app.router.add_get("/metrics", get_metrics)


async def _close_gitlab(app: web.Application) -> None:
    app[keys.GITLAB].close()


def _sources(gitlab: GitLab) -> Sources:
    return Sources(
        gitlab_calls=gitlab.counter.snapshot,
        gitlab_retries=gitlab.counter.retry_snapshot,
    )


def _context(app: web.Application, delivery_id: str) -> HandlerContext:
    return HandlerContext(
        config=app[keys.CONFIG],
        gitlab=app[keys.GITLAB],
        metrics=app[keys.METRICS],
        delivery_id=delivery_id,
        deploy_locks=app[keys.LOCKS],
    )


def _outbound(
    static_tokens: Sequence, gitlab_token: str, clock: Callable[[], float]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The HTTP session for verifying callers, and what depends on it."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        config = app[keys.CONFIG]
        url = config.gitlab.url.rstrip("/")
        async with aiohttp.ClientSession(timeout=OUTBOUND_TIMEOUT) as session:
            app[keys.HTTP_SESSION] = session
            audience = config.server.id_token_audience or config.server.public_url
            app[keys.AUTHENTICATOR] = Authenticator(
                IdTokenVerifier(KeySet(session, url, clock), url, audience),
                JobTokenVerifier(session, url),
                static_tokens,
            )
            app[keys.READINESS] = Readiness(session, url, gitlab_token, clock)
            yield

    return context


async def _background_work(app: web.Application) -> AsyncIterator[None]:
    """Webhook workers and the periodic sweep, for the app's lifetime."""
    intake = app[keys.INTAKE]
    config = app[keys.CONFIG]
    tasks = [
        asyncio.create_task(intake.work(), name=f"webhook-worker-{n}")
        for n in range(WEBHOOK_WORKERS)
    ]
    tasks.append(
        asyncio.create_task(
            sweep_forever(
                app[keys.ROUTER],
                lambda run: _context(app, run),
                app[keys.METRICS],
                config.server.sweep_interval_seconds,
            ),
            name="sweep",
        )
    )
    yield

    # Events still queued are dropped: GitLab is the state, and the next
    # sweep after a restart acts on what they were about.
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
