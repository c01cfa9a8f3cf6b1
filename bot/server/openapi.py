"""The OpenAPI 3.1 document of the HTTP API, served at ``/api/v1/openapi.json``.

Built from the same constants the handlers use (field names, the tag,
digest and name grammars of ``bot.policy``), and checked against the app's
routes by ``tests/server/test_openapi.py``: a route added without its
document entry fails the suite.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import __version__, policy
from bot.server import deploy_body
from bot.server.edge import MAX_NESTING

JSON = "application/json"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str, schema: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {JSON: {"schema": ref}}}


def _text(pattern: str | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **extra}
    if pattern:
        # A group: an alternation in ``pattern`` must be anchored as a whole.
        schema["pattern"] = f"^(?:{pattern})$"
    return schema


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    # The body parser takes null as "not given" for optional text fields.
    return {**schema, "type": ["string", "null"]}


def _given(field: str) -> dict[str, Any]:
    return {"required": [field], "properties": {field: {"type": "string"}}}


NAME = _text(policy.NAME_RE.pattern)
NULLABLE_STRING = {"type": ["string", "null"]}

DEPLOY_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["app", "environment"],
    "description": "Give a tag, a digest, or both; null is the same as absent.",
    "anyOf": [_given("tag"), _given("digest")],
    "properties": {
        "app": NAME,
        "environment": NAME,
        "tag": _or_null(_text(policy.TAG_RE.pattern)),
        "digest": _or_null(_text(policy.DIGEST_RE.pattern)),
        "source": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "project": _or_null(
                    _text(
                        deploy_body.PROJECT_RE.pattern,
                        description="must equal the authenticated project if given",
                    )
                ),
                "sha": _or_null(_text(deploy_body.SHA_RE.pattern)),
                "ref": _or_null(_text(deploy_body.REF_RE.pattern)),
                "pipeline_url": _or_null(_text(deploy_body.URL_RE.pattern)),
            },
        },
        "force": {"type": "boolean", "default": False},
        "dry_run": {"type": "boolean", "default": False},
    },
    "examples": [
        {
            "app": "my-app",
            "environment": "staging",
            "tag": "v1.4.2",
            "source": {
                "ref": "v1.4.2",
                "sha": "0f3c2a1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a",
            },
        },
        {"app": "my-app", "environment": "production", "tag": "v1.4.1", "force": True},
    ],
}

MERGE_REQUEST_REF = {
    "type": ["object", "null"],
    "required": ["iid", "web_url"],
    "properties": {"iid": {"type": "integer"}, "web_url": {"type": "string"}},
}

DEPLOY_RESULT = {
    "type": "object",
    "required": ["status", "merge_request", "branch"],
    "description": (
        "status: what was done. A dry run did nothing: status dry_run, and "
        "would says what the real call would do; merge_request is the one it "
        "would update."
    ),
    "if": {"required": ["dry_run"], "properties": {"dry_run": {"const": True}}},
    "then": {
        "required": ["would"],
        "properties": {"status": {"const": "dry_run"}},
    },
    "else": {
        "not": {"required": ["would"]},
        "properties": {"status": {"enum": ["opened", "updated", "unchanged"]}},
    },
    "properties": {
        "status": {"enum": ["opened", "updated", "unchanged", "dry_run"]},
        "would": {"enum": ["open", "update", "nothing"]},
        "merge_request": MERGE_REQUEST_REF,
        "branch": {"type": "string", "description": "the merge request's branch"},
        "target_branch": {"type": "string", "description": "the branch it targets"},
        "commit": NULLABLE_STRING,
        "previous_tag": NULLABLE_STRING,
        "tag": NULLABLE_STRING,
        "digest": NULLABLE_STRING,
        "dry_run": {"type": "boolean"},
        "diff": {"type": "string"},
    },
}

DEPLOYMENT_STATUS = {
    "type": "object",
    "required": ["app", "environment", "tag", "merge_request"],
    "properties": {
        "app": {"type": "string"},
        "environment": {"type": "string"},
        "target_branch": {"type": "string"},
        "target_sha": {"type": "string"},
        "tag": NULLABLE_STRING,
        "digest": NULLABLE_STRING,
        "merge_request": {
            "type": ["object", "null"],
            "properties": {
                "iid": {"type": "integer"},
                "web_url": {"type": "string"},
                "state": {"type": "string"},
                "draft": {"type": "boolean"},
                "sha": NULLABLE_STRING,
                "detailed_merge_status": NULLABLE_STRING,
                "labels": {"type": "array", "items": {"type": "string"}},
                "tag": NULLABLE_STRING,
                "digest": NULLABLE_STRING,
            },
        },
    },
}

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "the HTTP reason phrase"},
        "message": {"type": "string", "description": "what was wrong, and where"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

READINESS = {
    "type": "object",
    "required": ["status", "detail"],
    "properties": {
        "status": {"enum": ["ready", "unavailable"]},
        "detail": {"type": "string", "description": "what was checked, or failed"},
    },
}

SECURITY = [{"idToken": []}, {"jobToken": []}, {"staticToken": []}]
COMMON_REFUSALS = {
    "400": _error("malformed input; `errors` lists every invalid field"),
    "401": _error("missing or invalid credentials; the message says which"),
    "403": _error("policy refuses; the message names the rule"),
    "404": _error("unknown app or environment"),
    "503": _error("GitLab stays unavailable; retry after Retry-After seconds"),
}

DEPLOYMENTS_PATH = {
    "post": {
        "operationId": "deploy",
        "summary": "Open or update the merge request of (app, environment).",
        "security": SECURITY,
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/Deploy"}}},
        },
        "responses": {
            "201": _ok("a merge request was opened", "DeployResult"),
            "200": _ok(
                "updated, unchanged, or a dry run (status dry_run)", "DeployResult"
            ),
            **COMMON_REFUSALS,
            "400": _error(
                "invalid JSON, a key twice in one object, nesting past "
                f"{MAX_NESTING} levels, or invalid fields (`errors` lists each)"
            ),
            "409": _error("older tag without force, or a pinned key"),
            "413": _error("body larger than server.max_body_bytes"),
            "415": _error("Content-Type is not application/json in utf-8"),
            "422": _error(
                "a configured manifest is missing in the GitOps project, cannot "
                "take the edit (image, key or marker absent; YAML that does not "
                "parse), or its key sits beside another image repository than "
                "the app's"
            ),
            "502": _error("GitLab refused a call in a way the bot cannot recover"),
        },
    }
}

DEPLOYMENT_PATH = {
    "get": {
        "operationId": "getDeployment",
        "summary": "The tag on the target branch and the open merge request.",
        "security": SECURITY,
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": NAME,
                "example": example,
            }
            for name, example in (("app", "my-app"), ("environment", "staging"))
        ],
        "responses": {
            "200": _ok("the deployment's state", "DeploymentStatus"),
            **COMMON_REFUSALS,
        },
    }
}


def _plain_get(operation_id: str, summary: str, media: str) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "responses": {"200": {"description": "OK", "content": {media: {}}}},
        }
    }


WEBHOOK_PATH = {
    "post": {
        "operationId": "gitlabWebhook",
        "summary": "GitLab project webhook (merge request, pipeline, note, emoji).",
        "parameters": [
            {
                "name": "X-Gitlab-Token",
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
            },
            {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
        ],  # fmt: skip
        "requestBody": {"required": True, "content": {JSON: {"schema": {}}}},
        "responses": {
            "202": {"description": "queued for handling"},
            "200": {"description": "ignored, or a duplicate delivery"},
            "400": _error("malformed JSON or event"),
            "401": _error("missing or wrong X-Gitlab-Token"),
            "413": _error("body larger than server.max_webhook_bytes"),
            "415": _error("a charset other than utf-8"),
            "503": _error("too much pending work; retry after Retry-After"),
        },
    }
}


def build_document() -> dict[str, Any]:
    """Return the OpenAPI document of every route the server serves."""
    ready = _plain_get(
        "getReady", "Ready: GitLab answers and takes the bot's token.", JSON
    )
    ready["get"]["responses"] = {
        "200": _ok("ready", "Readiness"),
        "503": _ok("GitLab unreachable or failing, or the token refused", "Readiness"),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "gitops-bot", "version": __version__},
        "paths": {
            "/api/v1/deployments": DEPLOYMENTS_PATH,
            "/api/v1/deployments/{app}/{environment}": DEPLOYMENT_PATH,
            "/api/v1/openapi.json": _plain_get("getOpenApi", "This document.", JSON),
            "/webhooks/gitlab": WEBHOOK_PATH,
            "/healthz": _plain_get("getHealth", "Alive: the process answers.", JSON),
            "/readyz": ready,
            "/metrics": _plain_get("getMetrics", "Prometheus metrics.", "text/plain"),
        },
        "components": {
            "schemas": {
                "Deploy": DEPLOY_REQUEST,
                "DeployResult": DEPLOY_RESULT,
                "DeploymentStatus": DEPLOYMENT_STATUS,
                "Error": ERROR,
                "Readiness": READINESS,
            },
            "securitySchemes": {
                "idToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "GitLab CI/CD ID token",
                },
                "jobToken": {"type": "apiKey", "in": "header", "name": "JOB-TOKEN"},
                "staticToken": {"type": "http", "scheme": "bearer"},
            },  # fmt: skip
        },
    }


async def get_openapi(request: web.Request) -> web.Response:
    """Answer the OpenAPI document."""
    return web.json_response(build_document())
