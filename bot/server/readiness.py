"""Whether the bot can work with GitLab now, for ``/readyz``.

Ready means GitLab answers AND accepts the bot's token: one call to
``GET /api/v4/user`` with the token proves both (200). A refused or
dropped connection, a timeout or a 5xx means GitLab is not reachable;
a 401 or 403 means the token was revoked, expired or blocked, which no
restart fixes, so the detail names it. The token never appears in the
detail.

It asks GitLab at most once per ``CACHE_SECONDS``: probes from a
Kubernetes kubelet or a load balancer must not multiply GitLab calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

CACHE_SECONDS = 5.0
PROBE_TIMEOUT = aiohttp.ClientTimeout(total=3)


@dataclass(frozen=True)
class ReadyState:
    """The last readiness answer and when it was taken."""

    ready: bool
    detail: str
    checked_at: float


class Readiness:
    """Whether GitLab is reachable and takes the bot's token, cached briefly."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        gitlab_url: str,
        token: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Probe the GitLab at ``gitlab_url`` through ``session`` as ``token``."""
        self._session = session
        self._url = f"{gitlab_url.rstrip('/')}/api/v4/user"
        self._headers = {"PRIVATE-TOKEN": token}
        self._clock = clock
        self._last: ReadyState | None = None

    def __repr__(self) -> str:  # never show the token
        return f"Readiness(url={self._url!r})"

    async def fetch_state(self) -> ReadyState:
        """Return the cached state, probing GitLab when it is stale."""
        last = self._last
        if last is None or self._clock() - last.checked_at >= CACHE_SECONDS:
            self._last = last = await self._probe()
        return last

    async def _probe(self) -> ReadyState:
        try:
            async with self._session.get(
                self._url, headers=self._headers, timeout=PROBE_TIMEOUT
            ) as answer:
                ready, detail = judge(answer.status)
        except (aiohttp.ClientError, TimeoutError) as error:
            ready, detail = False, f"GitLab unreachable: {type(error).__name__}"
        return ReadyState(ready, detail, self._clock())


def judge(status: int) -> tuple[bool, str]:
    """Whether GitLab's answer to ``GET /user`` means ready, and why."""
    if status == 200:
        return True, "GitLab answered and accepts the bot's token"
    if status in (401, 403):
        return False, (
            f"GitLab refuses the bot's token ({status}): revoked, expired, "
            "or its user is blocked; replace the token"
        )
    if status >= 500:
        return False, f"GitLab unavailable: it answered {status}"
    return False, f"GitLab answered {status} to GET /api/v4/user"
