"""Job routes: lists, get, trace, retry, play, cancel, and ``GET /job``.

``GET /api/v4/job`` only takes a CI job token (``JOB-TOKEN`` header or
``job_token`` query): the job that owns it, or 401 once it has finished.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.ci import entities
from bot.sandbox.ci.engine import NotRetryable
from bot.sandbox.ci.model import JOBS, PIPELINES, Job
from bot.sandbox.ci.pipeline_routes import PROJECT, pipeline_of, project_of
from bot.sandbox.records import DEVELOPER, REPORTER

JOB_SCOPES = ("created", "pending", "running", "failed", "success", "canceled")
JOB_SCOPES += ("skipped", "waiting_for_resource", "manual")


def job_of(request: web.Request, project: Any) -> Job:
    """The job named in the URL, inside ``project``."""
    text = request.match_info["job_id"]
    found = None
    if text.isdigit():
        found = http.state_of(request).store.get(JOBS, int(text))
    if found is None or found.project_id != project.id:
        raise http.not_found("Job")
    return found


def render(state: Any, project: Any, job: Job) -> dict[str, Any]:
    """The ``Job`` entity of ``job``."""
    owner = state.store.get(PIPELINES, job.pipeline_id)
    return entities.job(state, project, job, owner)


def scopes(request: web.Request) -> set[str]:
    """The ``scope``/``scope[]`` filter values, validated."""
    wanted = set(request.query.getall("scope[]", [])) | set(
        request.query.getall("scope", [])
    )
    if not wanted <= set(JOB_SCOPES):
        raise http.grape_error(400, "scope does not have a valid value")
    return wanted


def listed(request: web.Request, project: Any, jobs: list[Job]) -> web.Response:
    """One page of ``jobs``, newest first, filtered by scope."""
    state = http.state_of(request)
    wanted = scopes(request)
    chosen = [job for job in jobs if not wanted or job.status in wanted]
    chosen.sort(key=lambda job: job.id, reverse=True)
    return http.paginate(request, chosen, lambda job: render(state, project, job))


async def list_project_jobs(request: web.Request) -> web.Response:
    """GET /projects/:id/jobs (builds only, retried included)."""
    project = http.project_in_url(request, REPORTER, "project_id")
    found = http.state_of(request).store.find(JOBS, project_id=project.id)
    return listed(request, project, [job for job in found if not job.is_bridge])


async def list_pipeline_jobs(request: web.Request) -> web.Response:
    """GET .../pipelines/:pipeline_id/jobs (``include_retried`` adds old runs)."""
    return pipeline_jobs(request, bridges=False)


async def list_pipeline_bridges(request: web.Request) -> web.Response:
    """GET .../pipelines/:pipeline_id/bridges (trigger jobs)."""
    return pipeline_jobs(request, bridges=True)


def pipeline_jobs(request: web.Request, bridges: bool) -> web.Response:
    """The builds or the bridges of the pipeline in the URL."""
    project = project_of(request)
    pipeline = pipeline_of(request, project)
    retried = http.to_bool(request.query.get("include_retried", False), "retried")
    found = http.state_of(request).store.find(JOBS, pipeline_id=pipeline.id)
    chosen = [
        job
        for job in found
        if job.is_bridge == bridges and (retried or not job.retried)
    ]
    return listed(request, project, chosen)


async def get_job(request: web.Request) -> web.Response:
    """GET /projects/:id/jobs/:job_id."""
    state, project = http.state_of(request), project_of(request)
    return web.json_response(render(state, project, job_of(request, project)))


async def get_trace(request: web.Request) -> web.Response:
    """GET /projects/:id/jobs/:job_id/trace: the log as plain text."""
    project = http.project_in_url(request, REPORTER, "project_id")
    return web.Response(text=job_of(request, project).trace, content_type="text/plain")


async def retry_job(request: web.Request) -> web.Response:
    """POST /projects/:id/jobs/:job_id/retry: a new job (201)."""
    state, project = http.state_of(request), project_of(request)
    user = http.current_user(request)
    http.require_access(request, project, DEVELOPER)
    job = job_of(request, project)
    try:
        fresh = await state.ci.retry_job(job, user.id)
    except NotRetryable as error:
        raise http.forbidden("Job is not retryable") from error
    return web.json_response(render(state, project, fresh), status=201)


async def play_job(request: web.Request) -> web.Response:
    """POST /projects/:id/jobs/:job_id/play: start a manual job."""
    state, project = http.state_of(request), project_of(request)
    user = http.current_user(request)
    http.require_access(request, project, DEVELOPER)
    job = job_of(request, project)
    if job.status != "manual":
        raise http.bad_request("Unplayable Job")
    await state.ci.play(job, user.id)
    return web.json_response(render(state, project, job))


async def cancel_job(request: web.Request) -> web.Response:
    """POST /projects/:id/jobs/:job_id/cancel (201, the job as it is now)."""
    state = http.state_of(request)
    project = http.project_in_url(request, DEVELOPER, "project_id")
    job = job_of(request, project)
    if await state.ci.cancel_job(job):
        await state.ci.advance(state.store.get(PIPELINES, job.pipeline_id))
    return web.json_response(render(state, project, job), status=201)


def job_token_of(request: web.Request) -> str | None:
    """The CI job token the request carries, if any."""
    return request.headers.get("JOB-TOKEN") or request.query.get("job_token")


async def token_job(request: web.Request) -> web.Response:
    """GET /api/v4/job: the running job that owns the JOB-TOKEN."""
    state = http.state_of(request)
    token = job_token_of(request)
    job_id = None if token is None else state.ci.tokens.job_for(token)
    if job_id is None:
        raise http.api_error(401, "401 Unauthorized")
    job = state.store.get(JOBS, job_id)
    project = state.store.get("projects", job.project_id)
    owner = state.store.get(PIPELINES, job.pipeline_id)
    return web.json_response(entities.token_job(state, project, job, owner))


def setup(app: web.Application) -> None:
    """Register the job routes."""
    jobs = PROJECT + "/jobs"
    one = jobs + "/{job_id:\\d+}"
    pipeline = PROJECT + "/pipelines/{pipeline_id:\\d+}"
    app.router.add_get(jobs, list_project_jobs)
    app.router.add_get(one, get_job)
    app.router.add_get(one + "/trace", get_trace)
    app.router.add_post(one + "/retry", retry_job)
    app.router.add_post(one + "/play", play_job)
    app.router.add_post(one + "/cancel", cancel_job)
    app.router.add_get(pipeline + "/jobs", list_pipeline_jobs)
    app.router.add_get(pipeline + "/bridges", list_pipeline_bridges)
    app.router.add_get("/api/v4/job", token_job)
