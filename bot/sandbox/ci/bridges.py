"""Trigger jobs (bridges): a downstream pipeline in another project.

The bridge's YAML variables, expanded in the upstream job's environment,
become the downstream pipeline's variables (source ``pipeline``). Without
``strategy: depend`` the bridge succeeds once the downstream pipeline
exists; with it, the bridge mirrors the downstream result.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import http
from bot.sandbox.ci import creation, jobenv, variables
from bot.sandbox.ci.model import FINISHED, JOBS, PIPELINES, Job, Pipeline
from bot.sandbox.records import DEVELOPER

MIRRORED = FINISHED


class BridgeFailed(Exception):
    """The downstream pipeline could not be created; ``reason`` is GitLab's."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def find_project_by_path(state: Any, path: str) -> Any | None:
    """The project whose full path is ``path`` (case-insensitive)."""
    wanted = path.strip("/").lower()
    for project in state.store.rows("projects"):
        if http.project_path(state, project).lower() == wanted:
            return project
    return None


def downstream_request(
    engine: Any, job: Job, pipeline: Pipeline
) -> tuple[Any, creation.PipelineRequest]:
    """The downstream project and what to build there; raise BridgeFailed."""
    state = engine.state
    project = engine.project_of(job)
    env = jobenv.pipeline_environment(state, project, pipeline, job).env
    target = find_project_by_path(state, variables.expand(job.trigger["project"], env))
    user = state.store.get("users", job.user_id)
    if target is None or http.access_level(state, user, target) < DEVELOPER:
        raise BridgeFailed(
            "downstream_bridge_project_not_found",
            f"downstream project {job.trigger['project']!r} not found or not allowed",
        )

    branch = variables.expand(job.trigger.get("branch") or "", env)
    branch = branch or target.default_branch
    sha = state.repo(target).head(branch)
    if sha is None:
        raise BridgeFailed("downstream_pipeline_creation_failed", "Reference not found")
    forwarded = variables.expand_all(job.variables, env)
    return target, creation.PipelineRequest(
        sha=sha,
        ref=branch,
        ref_type="branch",
        source="pipeline",
        user_id=job.user_id,
        variables=tuple(forwarded.items()),
        upstream_job_id=job.id,
        keep_failed=True,
    )


async def run_bridge(engine: Any, job: Job) -> None:
    """Create the downstream pipeline and set the bridge's status."""
    state = engine.state
    pipeline = state.store.get(PIPELINES, job.pipeline_id)
    try:
        target, request = downstream_request(engine, job, pipeline)
        downstream = creation.create_pipeline(state, target, request)
    except (BridgeFailed, creation.PipelineRefused) as error:
        job.failure_reason = getattr(
            error, "reason", "downstream_pipeline_creation_failed"
        )
        job.trace += f"ERROR: {error}\n"
        await engine.set_job_status(job, "failed")
        await engine.advance(pipeline)
        return

    job.downstream_pipeline_id = downstream.id
    depends = job.trigger.get("strategy") == "depend"
    await engine.set_job_status(job, "running" if depends else "success")
    await engine.refresh(pipeline)
    await engine.start(downstream)
    if depends:
        await settle_upstream(engine, downstream)
    else:
        await engine.advance(pipeline)


async def settle_upstream(engine: Any, downstream: Pipeline) -> None:
    """A ``depend`` bridge takes its downstream pipeline's final status."""
    if downstream.upstream_job_id is None or downstream.status not in MIRRORED:
        return
    bridge = engine.state.store.get(JOBS, downstream.upstream_job_id)
    if bridge is None or bridge.trigger.get("strategy") != "depend":
        return
    if bridge.status != "running" or bridge.downstream_pipeline_id != downstream.id:
        return
    if downstream.status == "failed":
        bridge.failure_reason = "downstream_pipeline_failed"
    await engine.set_job_status(bridge, downstream.status)
    await engine.advance(engine.state.store.get(PIPELINES, bridge.pipeline_id))


async def cancel_downstream(engine: Any, bridge: Job) -> None:
    """Canceling a bridge cancels its downstream pipeline."""
    if not bridge.is_bridge or bridge.downstream_pipeline_id is None:
        return
    downstream = engine.state.store.get(PIPELINES, bridge.downstream_pipeline_id)
    if downstream is not None and downstream.status not in FINISHED:
        await engine.cancel_pipeline(downstream)
