"""Middlewares: a request id on every line, and one place for error answers.

``error_middleware`` is the server's catch-all for HTTP requests: the bot's
own errors become their JSON refusal (status from ``http_status``), aiohttp's
own (unknown route, wrong method) the same JSON shape, and anything else a
logged 500 that names the request id and carries on.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.errors import GitopsBotError
from bot.server.edge import InvalidFields, error_response

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
RETRY_AFTER_UNAVAILABLE = "30"


@web.middleware
async def request_id_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Bind a request id (the caller's if sane, else a new one) to every log line."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = given if _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex
    started = time.perf_counter()

    with structlog.contextvars.bound_contextvars(request_id=request_id):
        response = await handler(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        log.info(
            "http_request",
            method=request.method,
            path=request.path,
            status=response.status,
            seconds=round(time.perf_counter() - started, 4),
        )
    return response


@web.middleware
async def error_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Turn every failure into the JSON error shape; never let one escape."""
    try:
        return await handler(request)
    except GitopsBotError as error:
        return _refusal(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return error_response(error.status, error.reason, headers=_kept(error))
    except Exception:
        log.exception("http_unhandled_error", path=request.path)
        return error_response(500, "internal error; the server log has the details")


def _refusal(error: GitopsBotError) -> web.Response:
    status = error.http_status
    headers = {"Retry-After": RETRY_AFTER_UNAVAILABLE} if status == 503 else None
    if status >= 500:
        log.warning("http_dependency_failed", status=status, error=str(error))
    else:
        log.info("http_refused", status=status, reason=str(error))
    errors = error.errors if isinstance(error, InvalidFields) else ()
    return error_response(status, str(error), errors=errors, headers=headers)


def _kept(error: web.HTTPException) -> dict[str, str]:
    allow = error.headers.get("Allow")
    return {"Allow": allow} if allow else {}
