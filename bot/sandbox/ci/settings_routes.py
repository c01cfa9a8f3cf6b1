"""Project CI/CD variables, pipeline trigger tokens, and triggering by token.

Both settings need the Maintainer role. ``POST /projects/:id/trigger/pipeline``
takes no user token: a trigger token (source ``trigger``) or a running
job's CI_JOB_TOKEN (source ``pipeline``) in ``token``; variables come as
``variables[KEY]=value`` form fields or a JSON ``variables`` object.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any

from aiohttp import web

from bot.sandbox import entities, http
from bot.sandbox.ci import entities as ci_entities
from bot.sandbox.ci import listeners
from bot.sandbox.ci.bridges import find_project_by_path
from bot.sandbox.ci.creation import PipelineRefused
from bot.sandbox.ci.model import JOBS, TRIGGERS, VARIABLES, TriggerToken, Variable
from bot.sandbox.ci.pipeline_routes import PROJECT, ref_request, refused
from bot.sandbox.records import MAINTAINER

KEY = re.compile(r"^[A-Za-z0-9_]{1,255}$")
FORM_VARIABLE = re.compile(r"^variables\[(.+)\]$")
MASKABLE = re.compile(r"^[A-Za-z0-9_+=/@:.~\-]{8,}$")
TYPES = ("env_var", "file")


def render_variable(record: Variable) -> dict[str, Any]:
    """The variable entity."""
    return {
        "variable_type": record.variable_type,
        "key": record.key,
        "value": record.value,
        "hidden": False,
        "protected": record.protected,
        "masked": record.masked,
        "raw": record.raw,
        "environment_scope": record.environment_scope,
        "description": record.description,
    }


def maintainer_project(request: web.Request) -> Any:
    """The project in the URL, for a Maintainer (else 403)."""
    return http.project_in_url(request, MAINTAINER, "project_id")


def variable_of(request: web.Request, project: Any) -> Variable:
    """The variable named in the URL."""
    found = http.state_of(request).store.find(
        VARIABLES, project_id=project.id, key=request.match_info["key"]
    )
    if not found:
        raise http.not_found("Variable")
    return found[0]


def apply_fields(record: Variable, values: dict[str, Any]) -> None:
    """Copy the optional fields of ``values`` onto ``record``, validated."""
    if "value" in values:
        record.value = str(values["value"] if values["value"] is not None else "")
    kind = values.get("variable_type")
    if kind is not None:
        if kind not in TYPES:
            raise http.grape_error(400, "variable_type does not have a valid value")
        record.variable_type = kind
    for flag in ("protected", "masked", "raw"):
        if values.get(flag) is not None:
            setattr(record, flag, http.to_bool(values[flag], flag))
    if values.get("environment_scope"):
        record.environment_scope = str(values["environment_scope"])
    if "description" in values:
        record.description = values["description"]
    if record.masked and not MASKABLE.match(record.value):
        raise http.api_error(400, {"value": ["is invalid"]})


async def list_variables(request: web.Request) -> web.Response:
    """GET /projects/:id/variables."""
    project = maintainer_project(request)
    found = http.state_of(request).store.find(VARIABLES, project_id=project.id)
    return http.paginate(request, found, render_variable)


async def get_variable(request: web.Request) -> web.Response:
    """GET /projects/:id/variables/:key."""
    project = maintainer_project(request)
    return web.json_response(render_variable(variable_of(request, project)))


async def create_variable(request: web.Request) -> web.Response:
    """POST /projects/:id/variables (201)."""
    state, project = http.state_of(request), maintainer_project(request)
    values = await http.params(request)
    http.require(values, "key")
    if "value" not in values:
        raise http.grape_error(400, "value is missing")
    key = str(values["key"])
    if not KEY.match(key):
        raise http.api_error(
            400, {"key": ["can contain only letters, digits and '_'."]}
        )
    if state.store.find(VARIABLES, project_id=project.id, key=key):
        raise http.api_error(400, {"key": [f"({key}) has already been taken"]})

    record = Variable(project_id=project.id, key=key, value="")
    apply_fields(record, values)
    state.store.insert(VARIABLES, record)
    return web.json_response(render_variable(record), status=201)


async def update_variable(request: web.Request) -> web.Response:
    """PUT /projects/:id/variables/:key (all-or-nothing)."""
    project = maintainer_project(request)
    record = variable_of(request, project)
    values = await http.params(request)
    draft = Variable(**{k: getattr(record, k) for k in record.__dataclass_fields__})
    apply_fields(draft, values)
    for name in record.__dataclass_fields__:
        setattr(record, name, getattr(draft, name))
    return web.json_response(render_variable(record))


async def delete_variable(request: web.Request) -> web.Response:
    """DELETE /projects/:id/variables/:key (204)."""
    project = maintainer_project(request)
    record = variable_of(request, project)
    http.state_of(request).store.delete(VARIABLES, record.id)
    return web.Response(status=204)


def render_trigger(state: Any, record: TriggerToken) -> dict[str, Any]:
    """The trigger entity."""
    owner = state.store.get("users", record.owner_id)
    return {
        "id": record.id,
        "token": record.token,
        "description": record.description,
        "created_at": record.created_at,
        "updated_at": record.updated_at or record.created_at,
        "last_used": record.last_used,
        "expires_at": None,
        "owner": None if owner is None else entities.user_basic(state, owner),
    }


async def list_triggers(request: web.Request) -> web.Response:
    """GET /projects/:id/triggers."""
    state, project = http.state_of(request), maintainer_project(request)
    found = state.store.find(TRIGGERS, project_id=project.id)
    return http.paginate(request, found, lambda t: render_trigger(state, t))


async def create_trigger(request: web.Request) -> web.Response:
    """POST /projects/:id/triggers (201)."""
    state, project = http.state_of(request), maintainer_project(request)
    values = await http.params(request)
    http.require(values, "description")
    record = TriggerToken(
        project_id=project.id,
        token="glptt-" + secrets.token_hex(20),
        owner_id=http.current_user(request).id,
        created_at=http.iso(),
        description=str(values["description"]),
    )
    state.store.insert(TRIGGERS, record)
    return web.json_response(render_trigger(state, record), status=201)


async def delete_trigger(request: web.Request) -> web.Response:
    """DELETE /projects/:id/triggers/:trigger_id (204)."""
    state, project = http.state_of(request), maintainer_project(request)
    wanted = request.match_info["trigger_id"]
    found = [
        t
        for t in state.store.find(TRIGGERS, project_id=project.id)
        if str(t.id) == wanted
    ]
    if not found:
        raise http.not_found("Trigger")
    state.store.delete(TRIGGERS, found[0].id)
    return web.Response(status=204)


def trigger_variables(values: dict[str, Any]) -> dict[str, Any]:
    """``variables`` as a mapping, from JSON or ``variables[KEY]`` fields."""
    given = values.get("variables")
    mapping = dict(given) if isinstance(given, dict) else {}
    for name, value in values.items():
        found = FORM_VARIABLE.match(name)
        if found:
            mapping[found.group(1)] = value
    return {"variables": mapping}


def caller_of_token(state: Any, project: Any, token: str) -> tuple[int, str] | None:
    """(user id, source) for a trigger token of ``project`` or a job token."""
    for record in state.store.find(TRIGGERS, project_id=project.id):
        if hmac.compare_digest(record.token, token):
            record.last_used = http.iso()
            return record.owner_id, "trigger"
    job_id = state.ci.tokens.job_for(token)
    if job_id is not None:
        return state.store.get(JOBS, job_id).user_id, "pipeline"
    return None


def project_by_id_or_path(state: Any, text: str) -> Any | None:
    """A project by id or full path, whoever asks (the token decides)."""
    if text.isdigit():
        return state.store.get("projects", int(text))
    return find_project_by_path(state, text)


async def trigger_pipeline(request: web.Request) -> web.Response:
    """POST /projects/:id/trigger/pipeline with ``token`` and ``ref`` (201)."""
    state = http.state_of(request)
    values = await http.params(request)
    http.require(values, "token", "ref")
    project = project_by_id_or_path(state, request.match_info["project_id"])
    caller = None
    if project is not None:
        caller = caller_of_token(state, project, str(values["token"]))
    if caller is None:
        raise http.api_error(404, "404 Not Found")

    user_id, source = caller
    wanted = ref_request(
        state, project, str(values["ref"]), source, user_id, trigger_variables(values)
    )
    try:
        pipeline = await listeners.create_and_start(state, project, wanted)
    except PipelineRefused as refusal:
        raise refused(str(refusal)) from refusal
    return web.json_response(ci_entities.pipeline(state, project, pipeline), status=201)


def setup(app: web.Application) -> None:
    """Register the variable and trigger routes."""
    variables = PROJECT + "/variables"
    app.router.add_get(variables, list_variables)
    app.router.add_post(variables, create_variable)
    app.router.add_get(variables + "/{key}", get_variable)
    app.router.add_put(variables + "/{key}", update_variable)
    app.router.add_delete(variables + "/{key}", delete_variable)
    triggers = PROJECT + "/triggers"
    app.router.add_get(triggers, list_triggers)
    app.router.add_post(triggers, create_trigger)
    app.router.add_delete(triggers + "/{trigger_id}", delete_trigger)
    app.router.add_post(PROJECT + "/trigger/pipeline", trigger_pipeline)
