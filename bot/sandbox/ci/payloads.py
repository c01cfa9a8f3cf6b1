"""Webhook bodies of pipeline and job events (``Pipeline Hook``, ``Job Hook``).

Keys and types follow ``fixtures/gitlab/webhooks/pipeline_event.json`` and
``job_event.json``: pipeline times as ``2016-08-12 15:23:28 UTC``, job times
as ISO strings with an ``_iso`` twin, ``commit.id`` of a job event being the
PIPELINE id. Merge request pipelines carry a ``merge_request`` block,
downstream pipelines a ``source_pipeline`` block.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import entities, http
from bot.sandbox.ci.entities import seconds_between
from bot.sandbox.ci.model import JOBS, PIPELINES, Job, Pipeline
from bot.sandbox.records import Project, User

JSON = dict[str, Any]


def hook_time(iso: str | None) -> str | None:
    """``2026-12-03T18:24:26.123Z`` as pipeline hooks write it."""
    return None if iso is None else iso[:19].replace("T", " ") + " UTC"


def iso_seconds(iso: str | None) -> str | None:
    """``2026-12-03T18:24:26Z`` (the ``*_iso`` fields of job hooks)."""
    return None if iso is None else iso[:19] + "Z"


def hook_user(user: User | None) -> JSON | None:
    """A user as pipeline and job hooks carry it."""
    if user is None:
        return None
    return {
        "id": user.id,
        "name": user.name,
        "username": user.username,
        "avatar_url": entities.avatar_url(user),
        "email": user.email,
    }


def hook_commit(state: Any, project: Project, sha: str) -> JSON:
    """The ``commit`` block of a pipeline hook."""
    info = state.repo(project).commit_info(sha)
    path = http.project_path(state, project)
    return {
        "id": info.id,
        "message": info.message,
        "title": info.title,
        "timestamp": info.committed_date.isoformat(timespec="seconds"),
        "url": f"{state.base_url}/{path}/-/commit/{info.id}",
        "author": {"name": info.author_name, "email": info.author_email},
    }


def build(state: Any, job: Job) -> JSON:
    """One entry of a pipeline hook's ``builds``."""
    return {
        "id": job.id,
        "stage": job.stage,
        "name": job.name,
        "status": job.status,
        "created_at": hook_time(job.created_at),
        "started_at": hook_time(job.started_at),
        "finished_at": hook_time(job.finished_at),
        "duration": seconds_between(job.started_at, job.finished_at),
        "queued_duration": seconds_between(job.queued_at, job.started_at),
        "failure_reason": job.failure_reason,
        "when": job.when,
        "manual": job.when == "manual",
        "allow_failure": job.allow_failure,
        "user": hook_user(state.store.get("users", job.user_id)),
        "runner": None,
        "artifacts_file": {"filename": None, "size": None},
        "environment": None
        if job.environment is None
        else {"name": job.environment, "action": "start", "deployment_tier": None},
    }


def source_pipeline(state: Any, pipeline: Pipeline) -> JSON | None:
    """Where a downstream pipeline came from."""
    if pipeline.upstream_job_id is None:
        return None
    bridge = state.store.get(JOBS, pipeline.upstream_job_id)
    upstream = state.store.get("projects", bridge.project_id)
    hook = entities.hook_project(state, upstream)
    return {
        "project": {
            "id": upstream.id,
            "web_url": hook["web_url"],
            "path_with_namespace": hook["path_with_namespace"],
        },
        "pipeline_id": bridge.pipeline_id,
        "job_id": bridge.id,
    }


def pipeline_event(
    state: Any,
    project: Project,
    pipeline: Pipeline,
    jobs: list[Job],
    merge_request: JSON | None,
) -> JSON:
    """The body of a ``Pipeline Hook``."""
    path = http.project_path(state, project)
    duration = seconds_between(pipeline.started_at, pipeline.finished_at)
    body: JSON = {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": pipeline.id,
            "iid": pipeline.iid,
            "name": pipeline.name,
            "ref": pipeline.ref,
            "tag": pipeline.tag,
            "sha": pipeline.sha,
            "before_sha": pipeline.before_sha,
            "source": pipeline.source,
            "status": pipeline.status,
            "detailed_status": pipeline.status,
            "stages": list(pipeline.stages),
            "created_at": hook_time(pipeline.created_at),
            "finished_at": hook_time(pipeline.finished_at),
            "duration": None if duration is None else int(duration),
            "queued_duration": seconds_between(
                pipeline.created_at, pipeline.started_at
            ),
            "variables": [
                {"key": v["key"], "value": v["value"]} for v in pipeline.variables
            ],
            "url": f"{state.base_url}/{path}/-/pipelines/{pipeline.id}",
        },
        "merge_request": merge_request,
        "user": hook_user(state.store.get("users", pipeline.user_id)),
        "project": entities.hook_project(state, project),
        "commit": hook_commit(state, project, pipeline.sha),
        "builds": [build(state, job) for job in reversed(jobs) if not job.is_bridge],
    }
    upstream = source_pipeline(state, pipeline)
    if upstream is not None:
        body["source_pipeline"] = upstream
    return body


def job_event(state: Any, project: Project, job: Job, pipeline: Pipeline) -> JSON:
    """The body of a ``Job Hook`` (``object_kind: build``)."""
    hook = entities.hook_project(state, project)
    info = state.repo(project).commit_info(pipeline.sha)
    retries = len(state.store.find(JOBS, pipeline_id=job.pipeline_id, name=job.name))
    body: JSON = {
        "object_kind": "build",
        "ref": pipeline.ref,
        "tag": pipeline.tag,
        "before_sha": pipeline.before_sha,
        "sha": pipeline.sha,
        "build_id": job.id,
        "build_name": job.name,
        "build_stage": job.stage,
        "build_status": job.status,
        "build_created_at": job.created_at,
        "build_created_at_iso": iso_seconds(job.created_at),
        "build_started_at": job.started_at,
        "build_started_at_iso": iso_seconds(job.started_at),
        "build_finished_at": job.finished_at,
        "build_finished_at_iso": iso_seconds(job.finished_at),
        "build_duration": seconds_between(job.started_at, job.finished_at),
        "build_queued_duration": seconds_between(job.queued_at, job.started_at),
        "build_allow_failure": job.allow_failure,
        "build_failure_reason": job.failure_reason or "unknown_failure",
        "retries_count": retries - 1,
        "pipeline_id": pipeline.id,
        "project_id": project.id,
        "project_name": hook["path_with_namespace"],
        "user": hook_user(state.store.get("users", job.user_id)),
        "commit": {
            "id": pipeline.id,
            "name": pipeline.name,
            "sha": pipeline.sha,
            "message": info.message,
            "author_name": info.author_name,
            "author_email": info.author_email,
            "status": pipeline.status,
            "duration": seconds_between(pipeline.started_at, pipeline.finished_at),
            "started_at": pipeline.started_at,
            "started_at_iso": iso_seconds(pipeline.started_at),
            "finished_at": pipeline.finished_at,
            "finished_at_iso": iso_seconds(pipeline.finished_at),
        },
        "repository": entities.hook_repository(state, project),
        "project": hook,
        "runner": None,
        "environment": None
        if job.environment is None
        else {"name": job.environment, "action": "start", "deployment_tier": None},
    }
    upstream = source_pipeline(state, state.store.get(PIPELINES, job.pipeline_id))
    if upstream is not None:
        body["source_pipeline"] = upstream
    return body
