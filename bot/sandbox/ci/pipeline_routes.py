"""Pipeline routes: list, get, latest, create, retry, cancel, MR pipelines.

Refusals to create answer 400 ``{"message": {"base": [...]}}`` as GitLab's
``render_validation_error!``; the MR pipeline create answers 200, not 201
(gitlab-api.md section 8).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.ci import entities, listeners
from bot.sandbox.ci.creation import PipelineRefused, PipelineRequest
from bot.sandbox.ci.engine import NotRetryable
from bot.sandbox.ci.model import FINISHED, PIPELINES, Pipeline
from bot.sandbox.records import DEVELOPER, REPORTER

PROJECT = "/api/v4/projects/{project_id}"
SCOPES = ("running", "pending", "finished", "branches", "tags")
ORDERS = ("id", "status", "ref", "updated_at", "user_id")


def refused(message: str) -> web.HTTPException:
    """GitLab's validation error for a pipeline that was not created."""
    return http.api_error(400, {"base": [message]})


def project_of(request: web.Request) -> Any:
    """The project named in the URL (404 when invisible)."""
    return http.find_project(request, request.match_info["project_id"])


def pipeline_of(request: web.Request, project: Any) -> Pipeline:
    """The pipeline named in the URL, inside ``project``."""
    text = request.match_info["pipeline_id"]
    found = None
    if text.isdigit():
        found = http.state_of(request).store.get(PIPELINES, int(text))
    if found is None or found.project_id != project.id:
        raise http.not_found("Pipeline")
    return found


def choice(values: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    """An optional parameter restricted to ``allowed``."""
    value = values.get(name)
    if value in (None, ""):
        return None
    if value not in allowed:
        raise http.grape_error(400, f"{name} does not have a valid value")
    return str(value)


def matches(state: Any, pipeline: Pipeline, values: dict[str, Any]) -> bool:
    """Whether ``pipeline`` passes the list filters."""
    scope = choice(values, "scope", SCOPES)
    plain = ("status", "ref", "sha", "source")
    if any(values.get(k) not in (None, "", getattr(pipeline, k)) for k in plain):
        return False
    if values.get("username"):
        user = state.store.get("users", pipeline.user_id)
        if user is None or user.username != values["username"]:
            return False
    only_errors = http.to_bool(values.get("yaml_errors", False), "yaml_errors")
    if only_errors and not pipeline.yaml_errors:
        return False
    return scope is None or _in_scope(pipeline, scope)


def _in_scope(pipeline: Pipeline, scope: str) -> bool:
    if scope == "finished":
        return pipeline.status in FINISHED
    if scope == "branches":
        return not pipeline.tag and pipeline.merge_request_iid is None
    if scope == "tags":
        return pipeline.tag
    return pipeline.status == scope


async def list_pipelines(request: web.Request) -> web.Response:
    """GET /projects/:id/pipelines."""
    state, project = http.state_of(request), project_of(request)
    values = await http.params(request)
    order = choice(values, "order_by", ORDERS) or "id"
    descending = (choice(values, "sort", ("asc", "desc")) or "desc") == "desc"

    found = [
        pipeline
        for pipeline in state.store.find(PIPELINES, project_id=project.id)
        if matches(state, pipeline, values)
    ]
    found.sort(key=lambda p: (getattr(p, order) or "", p.id), reverse=descending)
    return http.paginate(
        request, found, lambda p: entities.pipeline_basic(state, project, p)
    )


async def get_pipeline(request: web.Request) -> web.Response:
    """GET /projects/:id/pipelines/:pipeline_id."""
    state, project = http.state_of(request), project_of(request)
    pipeline = pipeline_of(request, project)
    return web.json_response(entities.pipeline(state, project, pipeline))


async def latest_pipeline(request: web.Request) -> web.Response:
    """GET /projects/:id/pipelines/latest (``ref`` defaults to the default branch)."""
    state, project = http.state_of(request), project_of(request)
    ref = request.query.get("ref") or project.default_branch
    found = [
        p
        for p in state.store.find(PIPELINES, project_id=project.id, ref=ref)
        if p.merge_request_iid is None
    ]
    if not found:
        raise http.forbidden()
    newest = max(found, key=lambda p: p.id)
    return web.json_response(entities.pipeline(state, project, newest))


async def pipeline_variables(request: web.Request) -> web.Response:
    """GET /projects/:id/pipelines/:pipeline_id/variables."""
    project = http.project_in_url(request, DEVELOPER, "project_id")
    pipeline = pipeline_of(request, project)
    return web.json_response(pipeline.variables)


def request_variables(values: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """``variables`` as a list of ``{key, value}`` (JSON) or a mapping."""
    given = values.get("variables") or []
    if isinstance(given, dict):
        return tuple((str(k), str(v)) for k, v in given.items())
    if not isinstance(given, list):
        raise http.grape_error(400, "variables is invalid")
    pairs = []
    for item in given:
        if not isinstance(item, dict) or not item.get("key"):
            raise http.grape_error(400, "variables[key] is missing")
        pairs.append((str(item["key"]), str(item.get("value", ""))))
    return tuple(pairs)


def ref_request(
    state: Any, project: Any, ref: str, source: str, user_id: int, values: Any
) -> PipelineRequest:
    """A pipeline on a branch or tag named ``ref``; 400 when it does not exist."""
    repo = state.repo(project)
    branch_sha, tag_sha = repo.head(ref), repo.tag_target(ref)
    if branch_sha is None and tag_sha is None:
        raise refused("Reference not found")
    return PipelineRequest(
        sha=branch_sha or tag_sha,
        ref=ref,
        ref_type="branch" if branch_sha else "tag",
        source=source,
        user_id=user_id,
        variables=request_variables(values),
    )


async def create_pipeline(request: web.Request) -> web.Response:
    """POST /projects/:id/pipeline with ``ref`` and ``variables``."""
    state, project = http.state_of(request), project_of(request)
    user = http.current_user(request)
    http.require_access(request, project, DEVELOPER)
    values = await http.params(request)
    http.require(values, "ref")

    wanted = ref_request(state, project, str(values["ref"]), "api", user.id, values)
    try:
        pipeline = await listeners.create_and_start(state, project, wanted)
    except PipelineRefused as refusal:
        raise refused(str(refusal)) from refusal
    return web.json_response(entities.pipeline(state, project, pipeline), status=201)


async def retry_pipeline(request: web.Request) -> web.Response:
    """POST /projects/:id/pipelines/:pipeline_id/retry."""
    state, project = http.state_of(request), project_of(request)
    user = http.current_user(request)
    http.require_access(request, project, DEVELOPER)
    pipeline = pipeline_of(request, project)
    try:
        await state.ci.retry_pipeline(pipeline, user.id)
    except NotRetryable as error:
        raise http.forbidden(str(error)) from error
    return web.json_response(entities.pipeline(state, project, pipeline), status=201)


async def cancel_pipeline(request: web.Request) -> web.Response:
    """POST /projects/:id/pipelines/:pipeline_id/cancel (200 in any state)."""
    state = http.state_of(request)
    project = http.project_in_url(request, DEVELOPER, "project_id")
    pipeline = pipeline_of(request, project)
    await state.ci.cancel_pipeline(pipeline)
    return web.json_response(entities.pipeline(state, project, pipeline))


def mr_of(request: web.Request, project: Any) -> Any:
    """The merge request named in the URL."""
    iid = request.match_info["iid"]
    found = http.state_of(request).store.find(
        "merge_requests", project_id=project.id, iid=int(iid) if iid.isdigit() else -1
    )
    if not found:
        raise http.api_error(404, "404 Not found")
    return found[0]


def mr_pipelines(state: Any, project: Any, mr: Any) -> list[Pipeline]:
    """Every pipeline of the MR, its branch pipelines included, newest first."""
    repo = state.repo(project)
    shas = set()
    if mr.sha is not None:
        shas = {info.id for info in repo.log(mr.sha, exclude=mr.base_sha)}
    found = [
        p
        for p in state.store.find(PIPELINES, project_id=project.id)
        if p.merge_request_iid == mr.iid
        or (p.merge_request_iid is None and p.ref == mr.source_branch and p.sha in shas)
    ]
    return sorted(found, key=lambda p: p.id, reverse=True)


async def list_mr_pipelines(request: web.Request) -> web.Response:
    """GET /projects/:id/merge_requests/:iid/pipelines."""
    state = http.state_of(request)
    project = http.project_in_url(request, REPORTER, "project_id")
    found = mr_pipelines(state, project, mr_of(request, project))
    return http.paginate(
        request, found, lambda p: entities.pipeline_basic(state, project, p)
    )


async def create_mr_pipeline(request: web.Request) -> web.Response:
    """POST /projects/:id/merge_requests/:iid/pipelines (answers 200)."""
    state, project = http.state_of(request), project_of(request)
    user = http.current_user(request)
    http.require_access(request, project, DEVELOPER)
    mr = mr_of(request, project)
    if mr.state != "opened" or mr.sha is None:
        raise http.api_error(405, "405 Method Not Allowed")

    wanted = listeners.merge_request_request(
        state, project, mr, user.id, keep_failed=False
    )
    try:
        pipeline = await listeners.create_and_start(state, project, wanted)
    except PipelineRefused as refusal:
        raise refused(str(refusal)) from refusal
    return web.json_response(entities.pipeline(state, project, pipeline), status=200)


def setup(app: web.Application) -> None:
    """Register the pipeline routes."""
    pipelines = PROJECT + "/pipelines"
    one = pipelines + "/{pipeline_id:\\d+}"
    app.router.add_get(pipelines, list_pipelines)
    app.router.add_get(pipelines + "/latest", latest_pipeline)
    app.router.add_get(one, get_pipeline)
    app.router.add_get(one + "/variables", pipeline_variables)
    app.router.add_post(one + "/retry", retry_pipeline)
    app.router.add_post(one + "/cancel", cancel_pipeline)
    app.router.add_post(PROJECT + "/pipeline", create_pipeline)
    mr_path = PROJECT + "/merge_requests/{iid}/pipelines"
    app.router.add_get(mr_path, list_mr_pipelines)
    app.router.add_post(mr_path, create_mr_pipeline)
