"""The periodic sweep: every interval, with jitter, run the registered sweeps.

The sweep heals what webhooks missed (lost deliveries, a restart in the
middle of work): features register a function on their router with
``Router.add_sweep`` and it is called here. A sweep that raises is logged
and counted; the next one, and the next run, still happen.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable

import structlog

from bot.server.metrics import Metrics
from bot.server.router import HandlerContext, Router

log = structlog.get_logger(__name__)

JITTER = 0.2


def jittered(interval: float, draw: Callable[[float, float], float]) -> float:
    """Return ``interval`` moved by up to ``JITTER`` of itself either way."""
    return interval * draw(1.0 - JITTER, 1.0 + JITTER)


async def run_sweeps(router: Router, context: HandlerContext, metrics: Metrics) -> None:
    """Run every registered sweep once, each inside the catch-all."""
    for sweep in router.sweeps:
        try:
            await sweep(context)
        except Exception:  # one failing sweep never stops the others
            metrics.handler_errors.labels("sweep").inc()
            log.exception("sweep_failed", sweep=getattr(sweep, "__qualname__", ""))


async def sweep_forever(
    router: Router,
    make_context: Callable[[str], HandlerContext],
    metrics: Metrics,
    interval: float,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    draw: Callable[[float, float], float] = random.uniform,
) -> None:
    """Sleep a jittered ``interval``, sweep, repeat; cancel the task to stop."""
    while True:
        await sleep(jittered(interval, draw))
        run_id = f"sweep-{uuid.uuid4().hex[:12]}"
        log.debug("sweep_started", run=run_id)
        await run_sweeps(router, make_context(run_id), metrics)
