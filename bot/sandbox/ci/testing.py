"""Test helpers: wait for pipelines without sleeping blindly.

Every pipeline or job status change wakes the engine's condition, so a
wait returns right after the change it waits for (or raises TimeoutError).
Synchronous tests (python-gitlab with a ``SandboxThread``) use the ``*_sync``
forms, which run the wait on the sandbox's loop.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.ci.model import PIPELINES, Pipeline

SETTLED = frozenset({"success", "failed", "canceled", "skipped", "manual"})
WAIT_SECONDS = 30.0


def find_pipelines(state: Any, project_id: int, **match: Any) -> list[Pipeline]:
    """The project's pipelines whose fields equal ``match``, oldest first."""
    return state.store.find(PIPELINES, project_id=project_id, **match)


async def wait_for_pipeline(
    state: Any,
    pipeline_id: int,
    statuses: frozenset[str] = SETTLED,
    timeout: float = WAIT_SECONDS,
) -> Pipeline:
    """Wait until pipeline ``pipeline_id`` is in one of ``statuses``."""

    def reached() -> bool:
        return state.store.get(PIPELINES, pipeline_id).status in statuses

    await state.ci.wait_for(reached, timeout)
    return state.store.get(PIPELINES, pipeline_id)


async def wait_for_settled(
    state: Any,
    project_id: int,
    count: int = 1,
    timeout: float = WAIT_SECONDS,
    **match: Any,
) -> list[Pipeline]:
    """Wait until ``count`` pipelines matching ``match`` exist and all settled."""

    def reached() -> bool:
        found = find_pipelines(state, project_id, **match)
        return len(found) >= count and all(p.status in SETTLED for p in found)

    await state.ci.wait_for(reached, timeout)
    return find_pipelines(state, project_id, **match)


def wait_for_pipeline_sync(
    sandbox: Any, pipeline_id: int, timeout: float = WAIT_SECONDS
) -> str:
    """``wait_for_pipeline`` from a test thread; return the final status."""
    found = sandbox.run(
        wait_for_pipeline(sandbox.state, pipeline_id, timeout=timeout), timeout + 5
    )
    return found.status


def wait_for_settled_sync(
    sandbox: Any,
    project_id: int,
    count: int = 1,
    timeout: float = WAIT_SECONDS,
    **match: Any,
) -> list[Pipeline]:
    """``wait_for_settled`` from a test thread."""
    return sandbox.run(
        wait_for_settled(sandbox.state, project_id, count, timeout, **match),
        timeout + 5,
    )
