"""``gitops-bot serve``: load the configuration, check secrets, serve.

Every secret is read before the port opens, so that a missing one fails
at start with exit status 2 and the variable's name, not at the first
request. A port or host the server cannot listen on is one line and exit
status 2 too. SIGINT and SIGTERM stop it gracefully (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket

import structlog
from aiohttp import web

from bot.config import load_config
from bot.errors import InvalidInput
from bot.server.app import create_app
from bot.server.logs import configure_logging

log = structlog.get_logger(__name__)


class CannotListen(InvalidInput):
    """The server cannot open its port (in use, a bad host, no permission)."""


def run(args: argparse.Namespace) -> int:
    """Run the server until interrupted; return the exit status."""
    config = load_config(args.config)
    app = create_app(config)
    configure_logging()

    log.info(
        "server_starting",
        host=args.host,
        port=args.port,
        gitlab=config.gitlab.url,
        project=config.gitlab.project,
    )
    asyncio.run(serve(app, args.host, args.port))
    return 0


async def serve(app: web.Application, host: str, port: int) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM.

    Raises ``CannotListen`` when the port cannot be opened; the app's
    cleanup runs either way.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await _listen(runner, host, port)
        await stop.wait()
        log.info("server_stopping")
    finally:
        await runner.cleanup()


async def _listen(runner: web.AppRunner, host: str, port: int) -> None:
    """Open the port, or raise ``CannotListen`` with the reason in words."""
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        raise CannotListen(
            f"cannot listen on {host}:{port}: {listen_failure(error)}"
        ) from error


def listen_failure(error: OSError) -> str:
    """Why a bind failed, without asyncio's repetition of the address."""
    if isinstance(error, socket.gaierror):
        return f"unknown host ({(error.strerror or str(error)).lower()})"
    if error.errno:
        return os.strerror(error.errno).lower()
    return str(error)
