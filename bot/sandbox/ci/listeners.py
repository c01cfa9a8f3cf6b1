"""When pipelines start by themselves: pushes, tags, merge request changes.

A push to a branch makes a ``push`` pipeline; a new tag a ``push`` pipeline
on the tag; a new or changed merge request a detached merge request
pipeline (``refs/merge-requests/<iid>/head``) when the configuration has
jobs for ``merge_request_event``. A refused pipeline (no config, filtered
by workflow rules, no jobs) is simply not created, as on GitLab.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.sandbox.ci import context, creation, entities, hooks
from bot.sandbox.ci.creation import PipelineRefused, PipelineRequest
from bot.sandbox.ci.model import ZERO_SHA, Pipeline
from bot.sandbox.ci.variables import MergeRequestFacts
from bot.sandbox.records import Project

log = logging.getLogger(__name__)


def pipeline_user_id(state: Any, project: Project) -> int:
    """The acting user, or the project's creator for background changes."""
    user = context.acting_user()
    return user.id if user is not None else project.creator_id


async def create_and_start(
    state: Any, project: Project, request: PipelineRequest
) -> Pipeline:
    """Create a pipeline and set it going; raise PipelineRefused."""
    pipeline = creation.create_pipeline(state, project, request)
    await state.ci.start(pipeline)
    return pipeline


async def maybe_create(
    state: Any, project: Project, request: PipelineRequest
) -> Pipeline | None:
    """Create a pipeline unless GitLab would not (the reason is logged)."""
    try:
        return await create_and_start(state, project, request)
    except PipelineRefused as refusal:
        log.debug("no pipeline", extra={"project": project.id, "reason": str(refusal)})
        return None


def mr_facts(mr: Any) -> MergeRequestFacts:
    """The facts of a merge request record that a pipeline needs."""
    return MergeRequestFacts(
        mr.id, mr.iid, mr.title, mr.source_branch, mr.target_branch, mr.base_sha
    )


def merge_request_request(
    state: Any, project: Project, mr: Any, user_id: int, keep_failed: bool = True
) -> PipelineRequest:
    """A detached merge request pipeline for the MR's head."""
    return PipelineRequest(
        sha=mr.sha,
        ref=mr.source_branch,
        ref_type="branch",
        source="merge_request_event",
        user_id=user_id,
        merge_request=mr_facts(mr),
        keep_failed=keep_failed,
    )


async def on_branch_updated(
    state: Any, project: Project, branch: str, before: str, after: str
) -> None:
    """Branch pipeline, then a pipeline for each open MR from this branch."""
    user_id = pipeline_user_id(state, project)
    request = PipelineRequest(
        sha=after,
        ref=branch,
        ref_type="branch",
        source="push",
        user_id=user_id,
        before_sha=before,
        keep_failed=True,
    )
    await maybe_create(state, project, request)
    for mr in state.store.find(
        "merge_requests", project_id=project.id, state="opened", source_branch=branch
    ):
        if mr.sha == after:
            mr_request = merge_request_request(state, project, mr, user_id)
            await maybe_create(state, project, mr_request)


async def on_tag_created(state: Any, project: Project, tag: str, sha: str) -> None:
    """A tag pipeline."""
    request = PipelineRequest(
        sha=sha,
        ref=tag,
        ref_type="tag",
        source="push",
        user_id=pipeline_user_id(state, project),
        keep_failed=True,
    )
    await maybe_create(state, project, request)


async def on_merge_request_opened(state: Any, project: Project, mr: Any) -> None:
    """A new merge request gets its merge request pipeline."""
    if mr.sha is None:
        return
    user_id = pipeline_user_id(state, project)
    await maybe_create(
        state, project, merge_request_request(state, project, mr, user_id)
    )


def head_pipeline_entity(state: Any, project: Project, mr: Any) -> Any:
    """The MR's ``head_pipeline`` entity, or None (hook point of the MR part)."""
    pipeline = hooks.head_pipeline_of(state, project, mr)
    return None if pipeline is None else entities.pipeline(state, project, pipeline)


def listen(state: Any) -> None:
    """Subscribe to the core's and the MR part's events."""

    async def updated(project: Project, branch: str, before: str, after: str) -> None:
        if after != ZERO_SHA:
            await on_branch_updated(state, project, branch, before, after)

    async def tagged(project: Project, tag: str, sha: str) -> None:
        await on_tag_created(state, project, tag, sha)

    async def opened(project: Project, mr: Any) -> None:
        await on_merge_request_opened(state, project, mr)

    state.on("branch_updated", updated)
    state.on("tag_created", tagged)
    state.on("merge_request_opened", opened)
    state.mr_head_pipeline = lambda project, mr: head_pipeline_entity(
        state, project, mr
    )
