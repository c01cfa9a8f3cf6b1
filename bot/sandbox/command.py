"""``gitops-bot sandbox``: run the offline GitLab until SIGINT or SIGTERM.

With ``--seed``, first create the demo's world and print how to start the
bot against it (see ``bot.sandbox.seeding``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from bot.errors import InvalidInput
from bot.sandbox.seeding import ensure_not_seeded, seed_sandbox
from bot.sandbox.server import Sandbox


async def serve(args: argparse.Namespace) -> None:
    """Start the sandbox, print one line with its URL, wait for a stop signal."""
    seeding = getattr(args, "seed", False)
    if seeding and args.data:
        ensure_not_seeded(Path(args.data))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    sandbox = Sandbox(
        host=args.host,
        port=args.port,
        data_dir=args.data,
        root_token=args.root_token,
        tier=args.tier,
    )
    try:
        await sandbox.start()
    except OSError as error:
        raise InvalidInput(
            f"cannot listen on {args.host}:{args.port}: {error.strerror or error}"
        ) from error
    line = f"GitLab sandbox ready at {sandbox.url} (tier {args.tier})"
    if not args.root_token:
        line += f"; root token {sandbox.root_token}"
    print(line, flush=True)
    try:
        if seeding:
            seeded = await seed_sandbox(
                sandbox.url, sandbox.root_token, Path(sandbox.data_dir)
            )
            print("\n".join(seeded.lines()), flush=True)
        await stop.wait()
    finally:
        await sandbox.stop()


def run(args: argparse.Namespace) -> int:
    """Run the sandbox command; return the exit status."""
    asyncio.run(serve(args))
    return 0
