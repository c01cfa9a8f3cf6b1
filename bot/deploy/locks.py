"""One writer per key: an ``asyncio.Lock`` per (app, environment)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class KeyedLocks:
    """One ``asyncio.Lock`` per key, dropped when nobody holds or waits."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: Counter[Hashable] = Counter()

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Run the block while no other holder of ``key`` runs."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    def users(self, key: Hashable) -> int:
        """How many tasks hold or wait for ``key`` now (0 once it is dropped).

        No ``__len__``: a lock map with nobody in it must stay truthy, so
        that ``locks or fallback`` can never swap the shared map for another.
        """
        return self._users[key]
