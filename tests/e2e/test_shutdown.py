"""Stopping the bot with webhook events still queued in memory."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from bot.server import keys
from bot.server.app import WEBHOOK_WORKERS
from tests.e2e.world import World

COMMENTS = WEBHOOK_WORKERS + 2
TAKE_POLLS = 500


async def test_events_queued_at_shutdown_logged_once(world: World) -> None:
    """With every worker stuck on the merge request (its lock is held) and
    more note events waiting, stopping the server logs one warning with how
    many events it drops, how many were cut off in a handler, and their
    kinds; nothing is answered."""
    iid = await world.open_mr("v1.1.0", "production")
    project = world.people["alice"].projects.get(world.project.id, lazy=True)
    mr = project.mergerequests.get(iid, lazy=True)
    intake = world.bot_app[keys.INTAKE]

    async with world.gate.hold(iid):
        for n in range(COMMENTS):
            await world.sync(lambda n=n: mr.notes.create({"body": f"/gitops hold {n}"}))
        await world.sync(world.sandbox.drain_webhooks)
        for _ in range(TAKE_POLLS):  # until each worker took its first event
            if intake.queue.qsize() == COMMENTS - WEBHOOK_WORKERS:
                break
            await asyncio.sleep(0.01)
        with capture_logs() as logs:
            await world.bot_server.close()

    dropped = [entry for entry in logs if entry["event"] == "webhook_events_dropped"]
    assert dropped == [
        {
            "event": "webhook_events_dropped",
            "log_level": "warning",
            "count": COMMENTS,
            "kinds": {"note": COMMENTS},
            "in_progress": WEBHOOK_WORKERS,
            "healed_by": "the next sweep",
        }
    ]
    assert await world.sync(lambda: world.bot_notes(iid)) == []
