"""Caller authentication: ID tokens, CI job tokens and static tokens.

A request that passes authentication reaches the policy check; deploying
``api`` (which only ``shop/api`` may deploy) then gives a 403 that names
the project the credentials proved, so each test sees who the bot thinks
is calling without any GitLab write.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient

from tests.server.conftest import WEB_TOKEN, MakeBot
from tests.server.identity import Identity, new_key

URL = "/api/v1/deployments"
PROBE = {"app": "api", "environment": "staging", "tag": "v1.0.0"}


async def post(bot: TestClient, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST the probe request with ``headers``; return status and body."""
    answer = await bot.post(URL, json=PROBE, headers=headers)
    return answer.status, await answer.json()


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def proved(body: dict[str, Any], project: str) -> bool:
    """Whether the refusal says the caller was authenticated as ``project``."""
    return f"project {project} may not deploy app api" in body["message"]


async def test_valid_id_token_proves_its_project_claim(
    bot: TestClient, identity: Identity
) -> None:
    """A valid ID token authenticates the project of its project_path claim."""
    status, body = await post(bot, bearer(identity.id_token("shop/web")))
    assert status == 403
    assert proved(body, "shop/web")


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": int(time.time()) - 3600}, "ID token has expired"),
        ({"aud": "https://someone-else.example"}, "audience is not"),
        ({"iss": "https://gitlab.evil.example"}, "issuer is not"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
    ],
)
async def test_id_token_claims_are_checked(
    bot: TestClient, identity: Identity, claims: dict[str, Any], message: str
) -> None:
    """Expired, wrong-audience, wrong-issuer and future tokens are 401."""
    token = identity.id_token("shop/web", **claims)
    status, body = await post(bot, bearer(token))
    assert status == 401
    assert message in body["message"]
    assert token not in str(body)


async def test_forged_signature_is_401(bot: TestClient, identity: Identity) -> None:
    """A token signed by another key under a known key id is refused as forged."""
    token = identity.id_token("shop/web", key=new_key())
    status, body = await post(bot, bearer(token))
    assert status == 401
    assert "signature does not verify" in body["message"]


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
async def test_only_rs256_is_accepted(
    bot: TestClient, identity: Identity, algorithm: str
) -> None:
    """Symmetric and unsigned tokens are refused whatever their claims."""
    claims = {"iss": identity.url, "aud": "x", "project_path": "shop/web"}
    key = "k" * 32 if algorithm == "HS256" else None
    token = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": "key-1"})
    status, body = await post(bot, bearer(token))
    assert status == 401
    assert f"algorithm {algorithm!r} is refused; RS256 only" in body["message"]


async def test_missing_project_claim_is_401(
    bot: TestClient, identity: Identity
) -> None:
    """A token without project_path cannot name a caller."""
    token = identity.id_token(None)
    status, body = await post(bot, bearer(token))
    assert status == 401
    assert "project_path" in body["message"]


async def test_key_rotation_refetches_once_and_unknown_keys_stay_refused(
    make_bot: MakeBot, identity: Identity
) -> None:
    """A new key id makes the bot fetch the keys again; a made-up one is 401."""
    now = [1000.0]
    bot = await make_bot(clock=lambda: now[0])
    assert (await post(bot, bearer(identity.id_token())))[0] == 403
    assert identity.key_fetches == 1

    now[0] += 60
    rotated = identity.rotate()
    status, body = await post(bot, bearer(identity.id_token(key_id=rotated)))
    assert (status, proved(body, "shop/web")) == (403, True)
    assert identity.key_fetches == 2

    status, body = await post(bot, bearer(identity.id_token(key_id="key-1")))
    assert status == 403
    status, body = await post(bot, bearer(identity.id_token(key_id="key-1")))
    assert identity.key_fetches == 2


async def test_unknown_key_id_is_401_and_does_not_hammer_gitlab(
    bot: TestClient, identity: Identity
) -> None:
    """Tokens naming a key GitLab never published are refused.

    The key set is read once, then re-read at most once per interval for an
    unknown key id, however many such tokens arrive.
    """
    identity.keys["key-9"] = new_key()
    forged = identity.id_token(key_id="key-9")
    del identity.keys["key-9"]
    for _ in range(3):
        status, body = await post(bot, bearer(forged))
        assert status == 401
        assert "unknown key (kid 'key-9')" in body["message"]
    assert identity.key_fetches == 2


async def test_job_token_of_a_running_job(bot: TestClient, identity: Identity) -> None:
    """A running job's CI_JOB_TOKEN authenticates the job's project."""
    identity.add_job("job-token-running", "shop/web")
    status, body = await post(bot, {"JOB-TOKEN": "job-token-running"})
    assert status == 403
    assert proved(body, "shop/web")


@pytest.mark.parametrize("state", ["success", "unknown"])
async def test_finished_or_unknown_job_token_is_401(
    bot: TestClient, identity: Identity, state: str
) -> None:
    """A finished job's token, or one GitLab does not know, is refused."""
    if state != "unknown":
        identity.add_job("job-token-x", "shop/web", status=state)
    status, body = await post(bot, {"JOB-TOKEN": "job-token-x"})
    assert status == 401
    assert "job token is not valid" in body["message"]
    assert "job-token-x" not in str(body)


async def test_static_token_right_and_wrong(bot: TestClient) -> None:
    """The configured static token names its project; a near miss is 401."""
    status, body = await post(bot, bearer(WEB_TOKEN))
    assert (status, proved(body, "shop/web")) == (403, True)
    status, body = await post(bot, bearer(WEB_TOKEN[:-1] + "x"))
    assert status == 401
    assert WEB_TOKEN[:-1] not in str(body)


async def test_id_tokens_refused_without_configured_audience(
    make_bot: MakeBot, identity: Identity
) -> None:
    """With no server.id_token_audience nor public_url, ID tokens are refused."""
    bot = await make_bot(id_token_audience="null")
    status, body = await post(bot, bearer(identity.id_token()))
    assert status == 401
    assert "server.id_token_audience is not set" in body["message"]


async def test_unreachable_key_set_is_503_not_401(
    make_bot: MakeBot, identity: Identity
) -> None:
    """When GitLab's keys cannot be read the caller is told to retry, not refused."""
    bot = await make_bot(identity_url="http://127.0.0.1:1")
    answer = await bot.post(URL, json=PROBE, headers=bearer(identity.id_token()))
    assert answer.status == 503
    assert answer.headers["Retry-After"]
    assert "openid-configuration failed" in (await answer.json())["message"]
