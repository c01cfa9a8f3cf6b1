"""What a status change announces: Pipeline and Job hooks, auto-merge.

The merge-request part is reached only here and in ``listeners``: its
views give the ``merge_request`` block of MR pipeline hooks, and its
``maybe_auto_merge`` runs when an MR's head pipeline succeeds.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.sandbox.ci import context, payloads
from bot.sandbox.ci.model import JOBS, PIPELINES, Job, Pipeline
from bot.sandbox.records import Project

log = logging.getLogger(__name__)

MERGE_REQUESTS = "merge_requests"


def merge_request_of(state: Any, pipeline: Pipeline) -> Any | None:
    """The MR record an MR pipeline runs for, or None."""
    if pipeline.merge_request_iid is None:
        return None
    found = state.store.find(
        MERGE_REQUESTS, project_id=pipeline.project_id, iid=pipeline.merge_request_iid
    )
    return found[0] if found else None


def merge_request_block(state: Any, project: Project, pipeline: Pipeline) -> Any:
    """The ``merge_request`` block of a pipeline hook (None for others)."""
    mr = merge_request_of(state, pipeline)
    if mr is None:
        return None
    from bot.sandbox.mr import views

    view = views.hook_view(state, project, mr)
    return {
        "id": mr.id,
        "iid": mr.iid,
        "title": mr.title,
        "source_branch": mr.source_branch,
        "source_project_id": mr.project_id,
        "target_branch": mr.target_branch,
        "target_project_id": mr.project_id,
        "state": mr.state,
        "merge_status": view.merge_status,
        "detailed_merge_status": view.detailed_merge_status,
        "url": view.url,
    }


async def pipeline_changed(state: Any, project: Project, pipeline: Pipeline) -> None:
    """Send a Pipeline Hook for the pipeline's current status."""
    jobs = state.store.find(JOBS, pipeline_id=pipeline.id, retried=False)
    block = merge_request_block(state, project, pipeline)
    body = payloads.pipeline_event(state, project, pipeline, jobs, block)
    await state.webhooks.emit(project, "Pipeline Hook", "pipeline_events", body)


async def job_changed(state: Any, project: Project, job: Job) -> None:
    """Send a Job Hook (trigger jobs send none, as on GitLab)."""
    if job.is_bridge:
        return
    pipeline = state.store.get(PIPELINES, job.pipeline_id)
    body = payloads.job_event(state, project, job, pipeline)
    await state.webhooks.emit(project, "Job Hook", "job_events", body)


def head_pipeline_of(state: Any, project: Project, mr: Any) -> Pipeline | None:
    """GitLab's head pipeline: the newest pipeline of the MR for its head SHA."""
    if mr.sha is None:
        return None
    candidates = [
        pipeline
        for pipeline in state.store.find(PIPELINES, project_id=project.id, sha=mr.sha)
        if pipeline.merge_request_iid == mr.iid
        or (
            pipeline.merge_request_iid is None
            and not pipeline.tag
            and pipeline.ref == mr.source_branch
        )
    ]
    return max(candidates, key=lambda pipeline: pipeline.id, default=None)


async def pipeline_settled(state: Any, project: Project, pipeline: Pipeline) -> None:
    """Save the store; merge MRs waiting for this (head) pipeline to succeed."""
    state.store.save()
    if pipeline.status != "success":
        return
    from bot.sandbox.mr import merging

    waiting = state.store.find(
        MERGE_REQUESTS,
        project_id=project.id,
        state="opened",
        merge_when_pipeline_succeeds=True,
    )
    for mr in waiting:
        head = head_pipeline_of(state, project, mr)
        if head is None or head.id != pipeline.id:
            continue
        merger = state.store.get("users", mr.merge_user_id)
        with context.acting(merger):
            merged = await merging.maybe_auto_merge(state, project, mr)
        log.info("auto-merge checked", extra={"mr": mr.iid, "merged": merged})
    state.store.save()
