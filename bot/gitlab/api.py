"""The HTTP calls of one project: paths relative to it, lists read to the end.

``ProjectApi`` is what ``client.GitLab`` and ``reviews.ReviewCalls`` are
built on: they hold one and say what to ask; it says how (through the
``Transport``: threads, bounded concurrency, one retry layer, counting).
"""

from __future__ import annotations

from typing import Any

from bot.gitlab.calls import Recover, Transport
from bot.gitlab.paths import encode


class ProjectApi:
    """One retried, counted call on a project, or every page of a list."""

    def __init__(self, transport: Transport, project: str, *, per_page: int) -> None:
        self.transport = transport
        self._base = f"/projects/{encode(project)}"
        self._per_page = per_page

    async def call(
        self,
        step: str,
        route: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        absolute: bool = False,
        deadline_seconds: float | None = None,
        recover: Recover | None = None,
    ) -> Any:
        """Make one call relative to the project (or the API root when
        ``absolute``); return the decoded body.

        ``deadline_seconds`` shortens the retry deadline for a call the
        caller can do without; ``recover`` finds a write whose answer was
        lost done (see ``Transport.request``).
        """
        prefix = "" if absolute else self._base
        answer = await self.transport.request(
            step,
            route,
            prefix + path,
            query=query,
            body=body,
            deadline_seconds=deadline_seconds,
            recover=recover,
        )
        return answer.body

    async def fetch_all(
        self, step: str, route: str, path: str, query: dict[str, Any]
    ) -> list[Any]:
        """Read EVERY page of a list (stopping at page 1 once hid an open MR)."""
        items: list[Any] = []
        page: str | None = "1"
        while page:
            answer = await self.transport.request(
                step,
                route,
                self._base + path,
                query={**query, "page": page, "per_page": self._per_page},
            )
            items.extend(answer.body or ())
            page = answer.headers.get("X-Next-Page") or None
        return items
