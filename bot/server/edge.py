"""HTTP edge helpers: bounded body reading, strict JSON, the error answer.

A body is JSON in UTF-8 (a declared charset must say so), with no key twice
in one object (the last would silently win) and nested at most
``MAX_NESTING`` levels (GitLab's payloads use five; a deeper body is an
attack on the parser's recursion, refused with 400, not a 500).

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
MAX_NESTING = 64
UTF8_NAMES = frozenset({"utf-8", "utf8"})


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
    """Refuse a body whose Content-Type is not JSON in UTF-8 (415)."""
    if request.content_type != "application/json":
        shown = request.content_type or "none"
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not {shown}"
        )
    ensure_utf8_charset(request)


def ensure_utf8_charset(request: web.Request) -> None:
    """Refuse (415) a body declared in a charset other than UTF-8.

    JSON is UTF-8 (RFC 8259); a body sent as latin-1 would be misread.
    """
    charset = request.charset
    if charset is not None and charset.strip().lower() not in UTF8_NAMES:
        raise UnsupportedMediaType(f"Content-Type charset must be utf-8, not {charset}")


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
    """Return the decoded JSON document, or refuse it (400) saying why.

    Refused: invalid JSON (with its position), a key given twice in one
    object (naming it), nesting deeper than ``MAX_NESTING``.
    """
    try:
        # Decoded here: json.loads would take UTF-16 and UTF-32 bytes too.
        text = raw.decode("utf-8")
        document = json.loads(text, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        raise InvalidInput("body is not valid JSON: not UTF-8") from None
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"body is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}"
        ) from None
    except RecursionError:  # the C decoder recurses once per level
        raise _too_deep() from None

    ensure_nesting(document)
    return document


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members as a dict; refuse a key that comes twice."""
    members: dict[str, Any] = {}
    for key, value in pairs:
        if key in members:
            raise InvalidInput(f"body has the key {key!r} twice in one object")
        members[key] = value
    return members


def ensure_nesting(document: Any, limit: int = MAX_NESTING) -> None:
    """Refuse (400) a document whose arrays and objects nest past ``limit``."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if not isinstance(value, dict | list):
            continue
        if depth > limit:
            raise _too_deep(limit)
        members = value.values() if isinstance(value, dict) else value
        pending.extend((member, depth + 1) for member in members)


def _too_deep(limit: int = MAX_NESTING) -> InvalidInput:
    return InvalidInput(f"body nests arrays and objects deeper than {limit} levels")
