"""HTTP edge helpers: bounded body reading and the JSON error answer.

Every refusal the server gives is a ``GitopsBotError`` whose ``http_status``
picks the status; ``error_response`` is the one shape of error body:
``{"error": <reason phrase>, "message": <what was wrong>, "errors": [...]}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aiohttp import web

from bot.errors import InvalidInput

CHUNK_BYTES = 16 * 1024


class PayloadTooLarge(InvalidInput):
    """The body is longer than the server accepts."""

    http_status = 413


class UnsupportedMediaType(InvalidInput):
    """The body is not declared as JSON."""

    http_status = 415


class InvalidFields(InvalidInput):
    """Several fields are wrong; ``errors`` lists each one."""

    def __init__(self, errors: Sequence[Mapping[str, str]]) -> None:
        """Hold every ``{"field", "message"}`` pair; the message names them all."""
        listed = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        super().__init__(f"invalid request: {listed}")
        self.errors = list(errors)


def error_response(
    status: int,
    message: str,
    *,
    errors: Sequence[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """Return the JSON error answer used for every refusal."""
    body: dict[str, Any] = {"error": _reason(status), "message": message}
    if errors:
        body["errors"] = list(errors)
    return web.json_response(body, status=status, headers=headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def ensure_json_content(request: web.Request) -> None:
    """Refuse a body whose Content-Type is not JSON (415)."""
    if request.content_type != "application/json":
        shown = request.content_type or "none"
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not {shown}"
        )


async def read_limited(request: web.Request, limit: int) -> bytes:
    """Return the body, refusing it (413) as soon as it passes ``limit`` bytes.

    A declared Content-Length over the limit is refused before reading.
    """
    ensure_declared_size(request, limit)

    body = bytearray()
    while chunk := await request.content.read(CHUNK_BYTES):
        body.extend(chunk)
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def ensure_declared_size(request: web.Request, limit: int) -> None:
    """Refuse (413) a body whose declared Content-Length passes ``limit``."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"body is larger than the limit of {limit} bytes")


def decode_json(raw: bytes) -> Any:
    """Return the decoded JSON document, or refuse it (400) saying where."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidInput("body is not valid JSON: not UTF-8") from None
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"body is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}"
        ) from None
