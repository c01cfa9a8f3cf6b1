"""Logging set-up for the server: key-value events, JSON off a terminal.

structlog events and plain ``logging`` records (python-gitlab, aiohttp)
go through one stdlib handler and are rendered the same way. Values bound
with ``structlog.contextvars`` (the request id) appear on every line of a
request, including its GitLab calls. Called by ``gitops-bot serve`` and
``deploy``, never at import time.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(
    stream: TextIO | None = None, *, json: bool | None = None, level: int = logging.INFO
) -> logging.Handler:
    """Send every log event to ``stream`` (stderr); return the handler installed.

    ``json`` defaults to "not a terminal", which is what log collectors read.
    """
    stream = stream or sys.stderr
    as_json = (not stream.isatty()) if json is None else json
    renderer = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)

    structlog.configure(
        processors=[
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return handler
