"""Callers the bot must turn away, each refused with its reason, nothing written.

A tag pipeline of a project that no app lists as a source fails with the
bot's 403 message in its log. Forged, expired and wrong-audience ID tokens
are minted here (with the sandbox's own signing key, or a foreign one) and
sent straight to the deploy API.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from bot.sandbox.ci import tokens
from tests.service_ci.conftest import (
    World,
    claims_for,
    job_log,
    sandbox_signed,
    trigger_ci,
)

ROGUE_CI = trigger_ci("web")


def test_project_not_among_the_sources_fails_its_job_with_the_403(
    world: World,
) -> None:
    """shop/rogue's valid ID token for app web: job fails quoting the 403, no write."""
    rogue = world.project(
        "shop/rogue", {".gitlab-ci.yml": ROGUE_CI}, GITOPS_BOT_URL=world.bot_url
    )
    world.control.clear_log()

    pipeline = world.tag(rogue, "v9.0.0")

    log = job_log(rogue, pipeline)
    assert pipeline.status == "failed"
    assert "the bot refused (HTTP 403)" in log
    assert "project shop/rogue may not deploy app web; allowed sources: shop/web" in log
    assert world.bot_mrs("web") == []
    assert world.gitops_writes() == []


def foreign_signed(world: World, claims: dict[str, Any], kid: str) -> str:
    """``claims`` signed by a key the sandbox never published, as key ``kid``."""
    pem = tokens.new_key().private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})


def current_kid(world: World) -> str:
    """The key id the sandbox signs with now."""
    return world.sandbox.call(lambda: world.sandbox.state.ci.keys.current().kid)


CASES = {
    "forged under the sandbox's key id": (
        lambda w, now: foreign_signed(
            w, claims_for(w, "shop/web", "gitops-bot", now), current_kid(w)
        ),
        "ID token signature does not verify (forged?)",
    ),
    "signed by an unpublished key": (
        lambda w, now: foreign_signed(
            w, claims_for(w, "shop/web", "gitops-bot", now), "attacker-key"
        ),
        "ID token is signed with an unknown key (kid 'attacker-key')",
    ),
    "expired an hour ago": (
        lambda w, now: sandbox_signed(
            w, claims_for(w, "shop/web", "gitops-bot", now - 3900)
        ),
        "ID token has expired",
    ),
    "for another audience": (
        lambda w, now: sandbox_signed(
            w, claims_for(w, "shop/web", "vault.example.com", now)
        ),
        "ID token audience is not 'gitops-bot'",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_id_tokens_are_refused_with_their_reason(world: World, case: str) -> None:
    """Each bad token gets 401 naming what is wrong; no MR, no write, no echo."""
    mint, reason = CASES[case]
    token = mint(world, time.time())
    world.control.clear_log()

    answer = requests.post(
        f"{world.bot_url}/api/v1/deployments",
        json={"app": "web", "environment": "staging", "tag": "v3.0.0"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )

    assert answer.status_code == 401, answer.text
    assert reason in answer.text
    assert token not in answer.text
    assert world.bot_mrs("web") == []
    assert world.gitops_writes() == []
