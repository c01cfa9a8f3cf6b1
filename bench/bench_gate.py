"""Merge gate benchmark: GitLab calls per decision, pipeline success to merge.

Runs the end-to-end world (the offline GitLab with real pipelines and the
bot, on loopback) outside pytest:

    python -m bench.bench_gate [--rounds N]

Prints the GitLab calls of a repeated decision on an unchanged production
merge request (from the offline GitLab's request log): 3, the notes listing
(comment commands not answered yet, who held it and why), the merge request
and its approvals; 2 before lost commands were healed. Then the time from a
staging merge request pipeline's end (its ``finished_at``) to the merge
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
from tests.e2e.build import worlds
from tests.e2e.world import World


async def calls_per_decision(world: World) -> int:
    """GitLab calls of one gate run on a production MR that did not change
    (the gate lists the notes itself here, as the sweep's run does first)."""
    iid = await world.open_mr("v1.1.0", "production")
    await world.approve("alice", iid)
    gate = world.gate
    context = world.bot_app[keys.INTAKE]._make_context("bench")
    await gate.run(context, iid)
    await asyncio.to_thread(world.control.clear_log)
    await gate.run(context, iid)
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
        calls = await calls_per_decision(world)
        print(
            f"GitLab calls per unchanged gate decision: {calls} "
            "(notes, merge request, approvals)"
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
