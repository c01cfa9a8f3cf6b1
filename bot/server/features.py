"""The feature routers the server composes by default.

Each feature keeps its handlers in its own module and exposes a ``Router``
(STYLE habit 1); add it to the list below and nothing else in the server
changes. Tests pass their own routers to ``create_app`` instead.
"""

from __future__ import annotations

from bot.server.router import Router


def default_routers() -> list[Router]:
    """Return the routers of every feature the server runs."""
    # Imported here: the features import bot.server's events and router.
    from bot import sweep

    return [*sweep.routers()]
