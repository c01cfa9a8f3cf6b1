"""``gitops-bot serve``: load the configuration, check secrets, serve.

Every secret is read before the port opens, so that a missing one fails
at start with exit status 2 and the variable's name, not at the first
request.
"""

from __future__ import annotations

import argparse

import structlog
from aiohttp import web

from bot.config import load_config
from bot.server.app import create_app
from bot.server.logs import configure_logging

log = structlog.get_logger(__name__)


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
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0
