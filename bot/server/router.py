"""Per-feature event routers, composed once by the server.

Each feature (merge-request events, pipelines, comment commands, the sweep)
builds its own ``Router`` in its own module and registers its handlers
there; ``bot/server`` composes the routers into one and holds the only
catch-all. A router never catches anything: a handler that raises is
logged by the server, and the next handler still runs.

    router = Router()

    async def on_note(event: NoteEvent, context: HandlerContext) -> None:
        ...

    router.register(NoteEvent, on_note)
    router.add_sweep(sweep_open_merge_requests)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from bot.server.events import Event

if TYPE_CHECKING:
    from bot.config import Config
    from bot.deploy import KeyedLocks
    from bot.gitlab import GitLab
    from bot.server.metrics import Metrics

EventT = TypeVar("EventT", bound=Event)


@dataclass(frozen=True)
class HandlerContext:
    """What a handler or a sweep may use; built once per delivery or sweep run.

    ``config`` is the loaded ``bot.config`` value and ``gitlab`` the adapter
    the server was created with; ``deploy_locks`` the deploy flow's per-key
    locks, shared with the API (``None`` only in tests that run no deploy:
    the gate then falls back to locks of its own).
    """

    config: Config
    gitlab: GitLab
    metrics: Metrics
    delivery_id: str
    deploy_locks: KeyedLocks | None = None


Handler = Callable[[Any, HandlerContext], Awaitable[None]]
Sweep = Callable[[HandlerContext], Awaitable[None]]


class Router:
    """Handlers by event type, plus the periodic sweeps of a feature."""

    def __init__(self, *routers: Router) -> None:
        """Create a router, composed of ``routers``' registrations when given."""
        self._handlers: dict[type, list[Handler]] = {}
        self._sweeps: list[Sweep] = []
        for router in routers:
            self.include(router)

    def register(
        self,
        event_type: type[EventT],
        handler: Callable[[EventT, HandlerContext], Awaitable[None]],
    ) -> None:
        """Call ``handler`` for each event of ``event_type``, in registration order."""
        self._handlers.setdefault(event_type, []).append(handler)

    def add_sweep(self, sweep: Sweep) -> None:
        """Call ``sweep`` on every run of the server's periodic sweep."""
        self._sweeps.append(sweep)

    def include(self, other: Router) -> None:
        """Add every handler and sweep of ``other`` after this router's own."""
        for event_type, handlers in other._handlers.items():
            self._handlers.setdefault(event_type, []).extend(handlers)
        self._sweeps.extend(other._sweeps)

    def handlers_for(self, event: Event) -> tuple[Handler, ...]:
        """Return the handlers registered for the type of ``event``."""
        return tuple(self._handlers.get(type(event), ()))

    @property
    def sweeps(self) -> tuple[Sweep, ...]:
        """The registered sweep functions, in order of registration."""
        return tuple(self._sweeps)
