"""Merge gate benchmark: GitLab calls per decision, pipeline success to merge.

Runs the e2e world (sandbox + bot on loopback) outside pytest:

    python -m bench.bench_gate [--rounds N]

Prints the calls of a repeated decision on an unchanged production merge
request (from the sandbox's request log) and the median time from a
staging pipeline's success webhook to the merge, over ``--rounds`` deploys.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import pytest

from bot.server import keys
from tests.e2e import conftest as e2e


async def _world() -> e2e.World:
    """Build one world through the e2e fixture's factory."""
    patch = pytest.MonkeyPatch()
    factory = e2e.make_world.__wrapped__(patch)  # type: ignore[attr-defined]
    make = await factory.__anext__()
    return await make()


async def main(rounds: int) -> None:
    """Measure and print."""
    world = await _world()
    iid = (await world.deploy("v1.1.0", "production"))["merge_request"]["iid"]
    await world.approve("alice", iid)
    gate = world.bot_app[keys.ROUTER].sweeps[0].__self__.gate
    context = world.bot_app[keys.INTAKE]._make_context("bench")
    await gate.run(context, iid)
    await asyncio.to_thread(world.control.clear_log)
    await gate.run(context, iid)
    calls = await asyncio.to_thread(world.control.calls)
    print(f"GitLab calls per unchanged gate decision: {sum(calls.values())}")

    durations = []
    for n in range(rounds):
        iid = (await world.deploy(f"v2.{n}.0"))["merge_request"]["iid"]
        started = time.perf_counter()
        await world.finish_pipeline(iid, "success")
        durations.append(time.perf_counter() - started)
    median = statistics.median(durations) * 1000
    print(f"pipeline success to merge, median of {rounds}: {median:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
