"""Project webhook delivery: asynchronous, in order per project, logged.

``emit`` queues one delivery per matching hook; a worker per project posts
them one after another with GitLab's headers. Faults set through
``/-/sandbox/faults`` drop or duplicate the next deliveries.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.sandbox.http import iso
from bot.sandbox.records import Hook, Project
from bot.sandbox.store import Store

log = logging.getLogger(__name__)

GITLAB_VERSION = "18.2.0"
DELIVERY_TIMEOUT_SECONDS = 10.0
LOGGED_RESPONSE_CHARS = 2000
DELIVERY_LOG_LIMIT = 10_000


@dataclass
class _Job:
    hook: Hook
    event_header: str
    body: dict[str, Any]
    event_uuid: str
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))


class Webhooks:
    """Queues and delivers project hook events; keeps a delivery log."""

    def __init__(self, store: Store, instance_url: Callable[[], str]) -> None:
        self.store = store
        self.instance_url = instance_url
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=DELIVERY_LOG_LIMIT)
        self._attempts = 0
        self._queues: dict[int, asyncio.Queue[_Job]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._faults: list[list[Any]] = []  # [kind, remaining]
        self._session: aiohttp.ClientSession | None = None

    def add_fault(self, kind: str, count: int) -> None:
        """Drop or duplicate the next ``count`` deliveries."""
        self._faults.append([kind, count])

    def clear_faults(self) -> None:
        """Forget every pending webhook fault."""
        self._faults.clear()

    def pending_faults(self) -> list[dict[str, Any]]:
        """Return the webhook faults still to apply."""
        return [{"webhooks": kind, "count": left} for kind, left in self._faults]

    def _take_fault(self) -> str | None:
        for fault in self._faults:
            if fault[1] > 0:
                fault[1] -= 1
                if fault[1] == 0:
                    self._faults.remove(fault)
                return fault[0]
        return None

    def wants(self, project: Project, switch: str) -> bool:
        """Tell whether any hook of ``project`` listens to ``switch`` events."""
        hooks = self.store.find("hooks", project_id=project.id)
        return any(getattr(hook, switch, False) for hook in hooks)

    async def emit(
        self, project: Project, event_header: str, switch: str, body: dict[str, Any]
    ) -> None:
        """Queue ``body`` for every hook of ``project`` whose ``switch`` is on."""
        event_uuid = str(uuid.uuid4())
        for hook in self.store.find("hooks", project_id=project.id):
            if not getattr(hook, switch, False) or not _branch_allowed(hook, body):
                continue
            job = _Job(hook, event_header, body, event_uuid)
            self._queue(project.id).put_nowait(job)

    def _queue(self, project_id: int) -> asyncio.Queue[_Job]:
        if project_id not in self._queues:
            self._queues[project_id] = asyncio.Queue()
            self._workers[project_id] = asyncio.create_task(
                self._work(self._queues[project_id])
            )
        return self._queues[project_id]

    async def drain(self) -> None:
        """Wait until every queued delivery has been attempted."""
        for queue in list(self._queues.values()):
            await queue.join()

    async def close(self) -> None:
        """Stop the workers and close the HTTP session."""
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._workers.clear()
        self._queues.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _work(self, queue: asyncio.Queue[_Job]) -> None:
        while True:
            job = await queue.get()
            try:
                fault = self._take_fault()
                if fault == "drop":
                    self._log(job, fault="drop")
                    continue
                await self._deliver(job, fault)
                if fault == "duplicate":
                    await self._deliver(job, fault)
            except Exception:  # one bad delivery never stops the worker
                log.exception("webhook delivery crashed", extra={"hook": job.hook.id})
            finally:
                queue.task_done()

    def _headers(self, job: _Job) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"GitLab/{GITLAB_VERSION}",
            "Idempotency-Key": job.idempotency_key,
            "X-Gitlab-Event": job.event_header,
            "X-Gitlab-Webhook-UUID": job.hook.uuid,
            "X-Gitlab-Instance": self.instance_url(),
            "X-Gitlab-Event-UUID": job.event_uuid,
        }
        if job.hook.token:
            headers["X-Gitlab-Token"] = job.hook.token
        return headers

    async def _deliver(self, job: _Job, fault: str | None) -> None:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_SECONDS)
            self._session = aiohttp.ClientSession(timeout=timeout)
        started = time.monotonic()
        try:
            async with self._session.post(
                job.hook.url, data=json.dumps(job.body), headers=self._headers(job)
            ) as response:
                text = await response.text(errors="replace")
                self._log(job, fault, started, status=response.status, response=text)
        except (aiohttp.ClientError, TimeoutError) as error:
            self._log(job, fault, started, error=f"{type(error).__name__}: {error}")

    def _log(
        self,
        job: _Job,
        fault: str | None = None,
        started: float | None = None,
        *,
        status: int | None = None,
        response: str = "",
        error: str | None = None,
    ) -> None:
        headers = self._headers(job)
        if "X-Gitlab-Token" in headers:
            headers["X-Gitlab-Token"] = "[REDACTED]"
        self._attempts += 1
        self.deliveries.append(
            {
                "id": self._attempts,
                "hook_id": job.hook.id,
                "project_id": job.hook.project_id,
                "url": job.hook.url,
                "event": job.event_header,
                "event_uuid": job.event_uuid,
                "idempotency_key": job.idempotency_key,
                "request_headers": headers,
                "request_body": job.body,
                "response_status": status,
                "response_body": response[:LOGGED_RESPONSE_CHARS],
                "error": error,
                "fault": fault,
                "delivered": fault != "drop",
                "duration_ms": None
                if started is None
                else round((time.monotonic() - started) * 1000, 1),
                "at": iso(),
            }
        )


def _branch_allowed(hook: Hook, body: dict[str, Any]) -> bool:
    """Apply the hook's push branch filter (a wildcard) to push events."""
    ref = body.get("ref", "")
    if body.get("object_kind") != "push" or not hook.push_events_branch_filter:
        return True
    branch = ref.removeprefix("refs/heads/")
    return fnmatch.fnmatchcase(branch, hook.push_events_branch_filter)
