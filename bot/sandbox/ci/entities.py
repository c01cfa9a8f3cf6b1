"""JSON shapes of pipelines and jobs as the REST API answers them.

``pipeline_basic`` is the list entry (``PipelineBasic``), ``pipeline`` the
full entity (fixture ``api/pipeline.json``), ``job`` the ``Job`` entity of
``/jobs``, ``token_job`` the answer of ``GET /job`` (fixture
``api/job_token_job.json``, no ``project`` object).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.sandbox import entities, http
from bot.sandbox.ci.model import Job, Pipeline
from bot.sandbox.records import Project, User

JSON = dict[str, Any]
TOKEN_JOB_KEYS = (
    "commit",
    "coverage",
    "allow_failure",
    "created_at",
    "started_at",
    "finished_at",
    "duration",
    "queued_duration",
    "artifacts_expire_at",
    "id",
    "name",
    "ref",
    "artifacts",
    "runner",
    "stage",
    "status",
    "tag",
    "web_url",
)
STATUS_TEXT = {
    "success": ("passed", "passed"),
    "failed": ("failed", "failed"),
    "running": ("running", "running"),
    "pending": ("pending", "pending"),
    "created": ("created", "created"),
    "canceled": ("canceled", "canceled"),
    "skipped": ("skipped", "skipped"),
    "manual": ("blocked", "waiting for manual action"),
}


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from ``start`` to ``end`` (ISO strings), or None."""
    if start is None or end is None:
        return None
    parse = datetime.fromisoformat
    delta = parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))
    return round(delta.total_seconds(), 3)


def web_url(state: Any, project: Project, kind: str, id: int) -> str:
    """``<base>/<path>/-/<kind>/<id>``."""
    return f"{state.base_url}/{http.project_path(state, project)}/-/{kind}/{id}"


def detailed_status(state: Any, project: Project, status: str, path: str) -> JSON:
    """The ``detailed_status`` block of a pipeline or job."""
    text, label = STATUS_TEXT.get(status, (status, status))
    return {
        "icon": f"status_{status}",
        "text": text,
        "label": label,
        "group": status,
        "tooltip": label,
        "has_details": True,
        "details_path": path,
        "illustration": None,
        "favicon": f"/assets/ci_favicons/favicon_status_{status}.png",
    }


def pipeline_basic(state: Any, project: Project, pipeline: Pipeline) -> JSON:
    """The ``PipelineBasic`` list entry."""
    return {
        "id": pipeline.id,
        "iid": pipeline.iid,
        "project_id": pipeline.project_id,
        "sha": pipeline.sha,
        "ref": pipeline.ref,
        "status": pipeline.status,
        "source": pipeline.source,
        "name": pipeline.name,
        "created_at": pipeline.created_at,
        "updated_at": pipeline.updated_at or pipeline.created_at,
        "web_url": web_url(state, project, "pipelines", pipeline.id),
    }


def user_of(state: Any, user_id: int | None) -> User | None:
    """The user record ``user_id``, or None."""
    return None if user_id is None else state.store.get("users", user_id)


def pipeline(state: Any, project: Project, record: Pipeline) -> JSON:
    """The full ``Pipeline`` entity."""
    user = user_of(state, record.user_id)
    path = f"/{http.project_path(state, project)}/-/pipelines/{record.id}"
    duration = seconds_between(record.started_at, record.finished_at)
    return {
        **pipeline_basic(state, project, record),
        "before_sha": record.before_sha,
        "tag": record.tag,
        "yaml_errors": record.yaml_errors,
        "user": None if user is None else entities.user_basic(state, user),
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "committed_at": None,
        "duration": None if duration is None else int(duration),
        "queued_duration": seconds_between(record.created_at, record.started_at),
        "coverage": None,
        "detailed_status": detailed_status(state, project, record.status, path),
        "archived": False,
    }


def commit(state: Any, project: Project, sha: str) -> JSON:
    """The ``commit`` block of a job."""
    info = state.repo(project).commit_info(sha)
    return {
        "id": info.id,
        "short_id": info.id[:8],
        "title": info.title,
        "message": info.message,
        "author_name": info.author_name,
        "author_email": info.author_email,
        "created_at": http.git_time(info.committed_date),
    }


def job(state: Any, project: Project, record: Job, owner: Pipeline) -> JSON:
    """The ``Job`` entity (``/jobs/:id``); bridges add ``downstream_pipeline``."""
    user = user_of(state, record.user_id)
    body = {
        "id": record.id,
        "status": record.status,
        "stage": record.stage,
        "name": record.name,
        "ref": owner.ref,
        "tag": owner.tag,
        "coverage": None,
        "allow_failure": record.allow_failure,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "erased_at": None,
        "duration": seconds_between(record.started_at, record.finished_at),
        "queued_duration": seconds_between(record.queued_at, record.started_at),
        "user": None
        if user is None
        else entities.user_full(state, user, private=False),
        "commit": commit(state, project, owner.sha),
        "pipeline": {
            **pipeline_basic(state, project, owner),
        },
        "web_url": web_url(state, project, "jobs", record.id),
        "project": {"ci_job_token_scope_enabled": False},
        "artifacts": [],
        "artifacts_expire_at": None,
        "runner": None,
        "runner_manager": None,
        "tag_list": [],
        "archived": False,
        "when": record.when,
        "retried": record.retried,
    }
    if record.failure_reason:
        body["failure_reason"] = record.failure_reason
    if record.is_bridge:
        body["downstream_pipeline"] = _downstream(state, record)
    return body


def _downstream(state: Any, record: Job) -> JSON | None:
    if record.downstream_pipeline_id is None:
        return None
    child = state.store.get("ci_pipelines", record.downstream_pipeline_id)
    target = state.store.get("projects", child.project_id)
    return pipeline_basic(state, target, child)


def token_job(state: Any, project: Project, record: Job, owner: Pipeline) -> JSON:
    """``GET /job``: the job that owns a job token."""
    user = user_of(state, record.user_id)
    full = job(state, project, record, owner)
    return {
        **{key: full[key] for key in TOKEN_JOB_KEYS},
        "pipeline": {
            "id": owner.id,
            "project_id": owner.project_id,
            "ref": owner.ref,
            "sha": owner.sha,
            "status": owner.status,
        },
        "user": None
        if user is None
        else entities.user_full(state, user, private=False),
    }
