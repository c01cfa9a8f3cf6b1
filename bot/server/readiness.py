"""Whether GitLab is reachable, for ``/readyz``.

It asks GitLab at most once per ``CACHE_SECONDS``: probes from a
Kubernetes kubelet or a load balancer must not multiply GitLab calls.
GitLab is "reachable" when ``/api/v4/version`` answers anything below 500;
a 401 there still proves that the instance is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class ReadyState:
    """The last readiness answer and when it was taken."""

    ready: bool
    detail: str
    checked_at: float


class Readiness:
    """Whether GitLab is reachable, cached for a few seconds."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        gitlab_url: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Probe the GitLab at ``gitlab_url`` through ``session``."""
        self._session = session
        self._url = f"{gitlab_url}/api/v4/version"
        self._clock = clock
        self._last: ReadyState | None = None

    async def fetch_state(self) -> ReadyState:
        """Return the cached state, probing GitLab when it is stale."""
        last = self._last
        if last is None or self._clock() - last.checked_at >= CACHE_SECONDS:
            self._last = last = await self._probe()
        return last

    async def _probe(self) -> ReadyState:
        try:
            async with self._session.get(self._url) as answer:
                ready = answer.status < 500
                detail = f"GitLab answered {answer.status}"
        except (aiohttp.ClientError, TimeoutError) as error:
            ready, detail = False, f"GitLab unreachable: {type(error).__name__}"
        return ReadyState(ready, detail, self._clock())
