"""OIDC discovery and keys for ID tokens, and the CI sandbox controls.

Public: ``/.well-known/openid-configuration``, ``/oauth/discovery/keys``
and ``/-/jwks``. Administrators only: ``POST /-/sandbox/rotate-keys``
(``retire_previous`` drops the older keys from the set) and
``/-/sandbox/jobs/outcome``, which makes every later run of a project's job
end with a chosen status instead of running its script.
"""

from __future__ import annotations

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.ci.bridges import find_project_by_path
from bot.sandbox.ci.tokens import openid_configuration

OUTCOMES = ("success", "failed")


async def discovery(request: web.Request) -> web.Response:
    """GET /.well-known/openid-configuration."""
    issuer = http.state_of(request).base_url
    return web.json_response(openid_configuration(issuer))


async def keys(request: web.Request) -> web.Response:
    """GET /oauth/discovery/keys: the JSON Web Key Set."""
    return web.json_response(http.state_of(request).ci.keys.jwks())


async def rotate_keys(request: web.Request) -> web.Response:
    """POST /-/sandbox/rotate-keys: sign with a new key from now on."""
    http.require_admin(request)
    values = await http.params(request)
    retire = http.to_bool(values.get("retire_previous", False), "retire_previous")
    signing = http.state_of(request).ci.keys
    key = signing.rotate(retire_previous=retire)
    published = [jwk["kid"] for jwk in signing.jwks()["keys"]]
    return web.json_response({"kid": key.kid, "published": published}, status=201)


def outcome_target(request: web.Request, values: dict) -> tuple[int, str]:
    """(project id, job name) of an outcome request; 400/404 when wrong."""
    http.require(values, "project", "job")
    state = http.state_of(request)
    text = str(values["project"])
    project = (
        state.store.get("projects", int(text))
        if text.isdigit()
        else find_project_by_path(state, text)
    )
    if project is None:
        raise http.not_found("Project")
    return project.id, str(values["job"])


async def set_outcome(request: web.Request) -> web.Response:
    """POST /-/sandbox/jobs/outcome {project, job, status}."""
    http.require_admin(request)
    values = await http.params(request)
    target = outcome_target(request, values)
    status = values.get("status")
    if status not in OUTCOMES:
        raise http.grape_error(400, "status does not have a valid value")
    http.state_of(request).ci.outcomes[target] = status
    body = {"project_id": target[0], "job": target[1], "status": status}
    return web.json_response(body, status=201)


async def clear_outcome(request: web.Request) -> web.Response:
    """DELETE /-/sandbox/jobs/outcome {project, job}: scripts run again."""
    http.require_admin(request)
    target = outcome_target(request, await http.params(request))
    http.state_of(request).ci.outcomes.pop(target, None)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register the identity and control routes."""
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/oauth/discovery/keys", keys)
    app.router.add_get("/-/jwks", keys)
    app.router.add_post("/-/sandbox/rotate-keys", rotate_keys)
    app.router.add_post("/-/sandbox/jobs/outcome", set_outcome)
    app.router.add_delete("/-/sandbox/jobs/outcome", clear_outcome)
