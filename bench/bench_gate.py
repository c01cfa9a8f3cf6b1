"""Merge gate benchmark: GitLab calls per decision, pipeline success to merge.

Runs the end-to-end world (the offline GitLab with real pipelines and the
bot, on loopback) outside pytest:

    python -m bench.bench_gate [--rounds N]

Prints the GitLab calls of a repeated decision on an unchanged production
merge request (from the offline GitLab's request log): 2, the merge request
and its approvals. Its notes (comment commands not answered yet, who held it
and why) are listed again only when the merge request's ``user_notes_count``
moved since they were last reconciled: then 3, as after a note is added,
and on the first decision after a restart. Then the time from a staging
merge request pipeline's end (its ``finished_at``) to the merge
(``merged_at``), over ``--rounds`` deploys.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
from datetime import datetime

from bot.server import keys
from bot.server.logs import configure_logging
from bot.server.router import HandlerContext
from tests.e2e.build import worlds
from tests.e2e.world import World


async def calls_per_decision(world: World) -> tuple[int, int]:
    """GitLab calls of one gate run on a production MR that did not change,
    then of one right after a person commented on it (its notes listed)."""
    iid = await world.open_mr("v1.1.0", "production")
    await world.approve("alice", iid)
    context = world.bot_app[keys.INTAKE]._make_context("bench")
    await world.gate.run(context, iid)

    unchanged = await _calls_of_one_run(world, context, iid)
    await world.comment("bob", iid, "Looks right to me.")
    return unchanged, await _calls_of_one_run(world, context, iid)


async def _calls_of_one_run(world: World, context: HandlerContext, iid: int) -> int:
    """GitLab calls of one gate run on ``!iid`` (offline GitLab's request log)."""
    await asyncio.to_thread(world.control.clear_log)
    await world.gate.run(context, iid)
    return sum((await asyncio.to_thread(world.control.calls)).values())


async def pipeline_to_merge(world: World, tag: str) -> float:
    """Seconds from the staging MR pipeline's end to the bot's merge."""
    iid = await world.open_mr(tag)
    await world.settle()
    mr = await world.state_of(iid)
    pipeline = await asyncio.to_thread(
        lambda: world.project.pipelines.get(world.pipelines(iid)[0].id)
    )
    finished = datetime.fromisoformat(pipeline.finished_at)
    return (datetime.fromisoformat(mr.merged_at) - finished).total_seconds()


async def main(rounds: int) -> None:
    """Measure and print."""
    async with worlds() as make:
        world = await make()
        unchanged, commented = await calls_per_decision(world)
        print(
            f"GitLab calls per unchanged gate decision: {unchanged} "
            f"(merge request, approvals); after a new note: {commented} "
            "(merge request, notes, approvals)"
        )
        latencies = [await pipeline_to_merge(world, f"v2.{n}.0") for n in range(rounds)]
    median = statistics.median(latencies) * 1000
    print(
        f"pipeline success to merge over {rounds} deploys: median {median:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    configure_logging(sys.stderr, json=False, level=logging.WARNING)
    asyncio.run(main(parser.parse_args().rounds))
