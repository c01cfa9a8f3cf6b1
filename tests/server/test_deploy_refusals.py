"""Refusals of ``POST /api/v1/deployments`` that happen before GitLab.

Each asserts the status, the message, and that the adapter made no GitLab
call at all (so nothing can have been written).
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.server import keys
from tests.server.conftest import WEB_TOKEN

URL = "/api/v1/deployments"
AUTH = {"Authorization": f"Bearer {WEB_TOKEN}"}
GOOD = {"app": "web", "environment": "staging", "tag": "v1.2.3"}


def gitlab_calls(bot: TestClient) -> int:
    """How many GitLab calls the bot's adapter made."""
    return bot.app[keys.GITLAB].counter.total()


async def refused(bot: TestClient, status: int, **request: Any) -> dict[str, Any]:
    """POST, assert ``status`` and no GitLab call; return the JSON body."""
    answer = await bot.post(URL, **request)
    body = await answer.json()
    assert answer.status == status, body
    assert set(body) >= {"error", "message"}
    assert gitlab_calls(bot) == 0
    return body


async def test_non_json_content_type_is_415(bot: TestClient) -> None:
    """A body not declared as JSON is refused with 415 naming the type."""
    body = await refused(
        bot, 415, data="app=web", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert "application/json, not text/plain" in body["message"]


async def test_declared_oversized_body_is_413(bot: TestClient) -> None:
    """A Content-Length over 64 KiB is refused before the body is read."""
    payload = b'{"app": "' + b"x" * 70_000 + b'"}'
    body = await refused(
        bot, 413, data=payload, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert "larger than the limit of 65536 bytes" in body["message"]


async def test_streamed_oversized_body_is_413(bot: TestClient) -> None:
    """A body without Content-Length is cut off as soon as it passes the limit."""

    async def chunks():
        for _ in range(20):
            yield b"x" * 8192

    body = await refused(
        bot, 413, data=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert "65536 bytes" in body["message"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=latin-1", "application/json;charset=utf-16"],
)
async def test_charset_other_than_utf8_is_415(
    bot: TestClient, content_type: str
) -> None:
    """A JSON body declared in another charset is refused, not misread as UTF-8."""
    charset = content_type.rpartition("=")[2]
    body = await refused(
        bot,
        415,
        data='{"app": "web", "environment": "staging", "tag": "v1.2.3"}',
        headers={**AUTH, "Content-Type": content_type},
    )
    assert body["message"] == f"Content-Type charset must be utf-8, not {charset}"


async def test_utf8_charset_is_accepted(bot: TestClient) -> None:
    """``charset=UTF-8`` passes the edge: the request reaches GitLab (503 here)."""
    answer = await bot.post(
        URL,
        data=b'{"app": "web", "environment": "staging", "tag": "v1.2.3"}',
        headers={**AUTH, "Content-Type": "application/json; charset=UTF-8"},
    )
    assert answer.status == 503
    assert gitlab_calls(bot) > 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"app": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
            "body nests arrays and objects deeper than 64 levels",
        ),
        (
            b'{"app": "my-app", "environment": "staging", "tag": "v1.2.3", '
            b'"app": "web"}',
            "body has the key 'app' twice in one object",
        ),
    ],
)
async def test_deep_or_repeated_json_is_400(
    bot: TestClient, data: bytes, message: str
) -> None:
    """Deep nesting and a repeated key are refused with 400, before GitLab."""
    body = await refused(
        bot, 400, data=data, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert body["message"] == message


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "no credentials"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "must be 'Bearer <token>'"),
        ({"Authorization": "Bearer not-a-known-token"}, "neither an ID token"),
    ],
)
async def test_missing_or_unknown_credentials_are_401(
    bot: TestClient, headers: dict[str, str], message: str
) -> None:
    """Without valid credentials the answer is 401 saying what was wrong."""
    body = await refused(bot, 401, json=GOOD, headers=headers)
    assert message in body["message"]
    assert "not-a-known-token" not in body["message"]


async def test_malformed_json_is_400(bot: TestClient) -> None:
    """A body that is not JSON is refused with the parser's position."""
    body = await refused(
        bot,
        400,
        data=b'{"app": "web",',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert body["message"].startswith("body is not valid JSON")
    assert "line 1" in body["message"]


async def test_every_invalid_field_is_listed(bot: TestClient) -> None:
    """One 400 lists every invalid field, each with what is expected."""
    request = {
        "app": "Not A Name",
        "tag": "-bad",
        "digest": "md5:abc",
        "force": "yes",
        "colour": "blue",
        "source": {"sha": "zz", "pipeline_url": "ftp://x", "branch": "main"},
    }
    body = await refused(bot, 400, json=request, headers=AUTH)
    fields = {error["field"] for error in body["errors"]}
    assert fields == {
        "app",
        "environment",
        "tag",
        "digest",
        "force",
        "colour",
        "source.sha",
        "source.pipeline_url",
        "source.branch",
    }
    for field in fields:
        assert field in body["message"]


async def test_missing_tag_and_digest_is_400(bot: TestClient) -> None:
    """A request naming neither a tag nor a digest says one is needed."""
    body = await refused(
        bot, 400, json={"app": "web", "environment": "staging"}, headers=AUTH
    )
    assert body["errors"] == [
        {"field": "tag", "message": "tag or digest is required (or both)"}
    ]


@pytest.mark.parametrize(
    ("request_body", "status", "message"),
    [
        ({**GOOD, "app": "api"}, 403, "project shop/web may not deploy app api"),
        ({**GOOD, "environment": "qa"}, 404, "unknown environment 'qa'"),
        ({**GOOD, "app": "billing"}, 404, "unknown app 'billing'"),
        (
            {**GOOD, "source": {"project": "shop/api"}},
            403,
            "source.project shop/api is not the authenticated project shop/web",
        ),
    ],
)
async def test_policy_refusals(
    bot: TestClient, request_body: dict[str, Any], status: int, message: str
) -> None:
    """Policy refusals name the rule; unknown names are 404."""
    body = await refused(bot, status, json=request_body, headers=AUTH)
    assert message in body["message"]


async def test_unavailable_gitlab_is_503_with_retry_after(bot: TestClient) -> None:
    """When GitLab stays unreachable past the deadline: 503 and Retry-After."""
    answer = await bot.post(URL, json=GOOD, headers=AUTH)
    body = await answer.json()
    assert answer.status == 503, body
    assert int(answer.headers["Retry-After"]) > 0
    assert "GitLab answered nothing" in body["message"]


async def test_unknown_route_and_method_use_the_error_shape(bot: TestClient) -> None:
    """aiohttp's own 404 and 405 come back in the same JSON error shape."""
    missing = await bot.get("/api/v1/nothing")
    assert missing.status == 404
    assert (await missing.json())["error"] == "Not Found"
    wrong = await bot.delete(URL)
    assert wrong.status == 405
    assert "POST" in wrong.headers["Allow"]
