"""A running job proves who it is: CI job token and ID token, checked by a receiver.

A service project's tag pipeline runs a real script that calls a small HTTP
receiver on loopback with its CI_JOB_TOKEN and an ID token. The receiver
verifies both against the sandbox (``GET /job``; discovery, JWKS, signature,
audience, claims), and the job token stops working once the job has ended.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web

from bot.sandbox.ci.testing import wait_for_settled
from bot.sandbox.server import Sandbox

AUDIENCE = "gitops-bot"
CI_CONFIG = """
stages: [deploy]
variables:
  AUDIENCE: gitops-bot
deploy:
  stage: deploy
  image: python:3.12
  id_tokens:
    BOT_ID_TOKEN:
      aud: $AUDIENCE
  rules:
    - if: $CI_COMMIT_TAG
  script:
    - python3 notify.py
"""
NOTIFY = """
import json, os, urllib.request
request = urllib.request.Request(
    os.environ["RECEIVER_URL"] + "/deploy",
    data=json.dumps({"tag": os.environ["CI_COMMIT_TAG"]}).encode(),
    headers={
        "Authorization": "Bearer " + os.environ["BOT_ID_TOKEN"],
        "Job-Token": os.environ["CI_JOB_TOKEN"],
        "Content-Type": "application/json",
    },
)
print("receiver said", urllib.request.urlopen(request).read().decode())
"""


class Receiver:
    """A deploy endpoint that trusts nothing until the sandbox vouches for it."""

    def __init__(self, gitlab_url: str, session: aiohttp.ClientSession) -> None:
        self.gitlab_url = gitlab_url
        self.session = session
        self.verified: list[dict[str, Any]] = []
        self.job_tokens: list[str] = []

    async def deploy(self, request: web.Request) -> web.Response:
        """Check the job token with GET /job and the ID token with the JWKS."""
        token = request.headers["Job-Token"]
        async with self.session.get(
            f"{self.gitlab_url}/api/v4/job", headers={"JOB-TOKEN": token}
        ) as answer:
            if answer.status != 200:
                return web.Response(status=401, text="job token refused")
            job = await answer.json()

        id_token = request.headers["Authorization"].removeprefix("Bearer ")
        claims = await self.verify_id_token(id_token)
        self.job_tokens.append(token)
        self.verified.append({"job": job, "claims": claims, **await request.json()})
        return web.Response(text="deployed")

    async def verify_id_token(self, token: str) -> dict[str, Any]:
        """Signature, issuer and audience against the published keys."""
        discovery_url = f"{self.gitlab_url}/.well-known/openid-configuration"
        async with self.session.get(discovery_url) as answer:
            discovery = await answer.json()
        async with self.session.get(discovery["jwks_uri"]) as answer:
            key_set = jwt.PyJWKSet.from_dict(await answer.json())
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in key_set.keys if k.key_id == kid)
        return jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=AUDIENCE,
            issuer=discovery["issuer"],
        )


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client for the test."""
    async with aiohttp.ClientSession() as client:
        yield client


async def api(
    session: aiohttp.ClientSession,
    sandbox: Sandbox,
    method: str,
    path: str,
    body: Any = None,
) -> Any:
    """Call the sandbox API as root and return the JSON answer."""
    headers = {"PRIVATE-TOKEN": sandbox.root_token}
    url = f"{sandbox.url}/api/v4{path}"
    async with session.request(method, url, json=body, headers=headers) as answer:
        assert answer.status < 300, await answer.text()
        return await answer.json()


async def start_receiver(receiver: Receiver) -> tuple[web.AppRunner, str]:
    """Serve the receiver on a free loopback port."""
    app = web.Application()
    app.router.add_post("/deploy", receiver.deploy)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_tag_job_proves_its_identity_with_job_and_id_tokens(
    async_sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    """The receiver verifies both tokens; the job token dies with the job."""
    receiver = Receiver(async_sandbox.url, session)
    runner, receiver_url = await start_receiver(receiver)
    try:
        project = await api(
            session,
            async_sandbox,
            "POST",
            "/projects",
            {"name": "service", "initialize_with_readme": True},
        )
        pid = project["id"]
        await api(
            session,
            async_sandbox,
            "POST",
            f"/projects/{pid}/variables",
            {"key": "RECEIVER_URL", "value": receiver_url},
        )
        actions = [
            {"action": "create", "file_path": ".gitlab-ci.yml", "content": CI_CONFIG},
            {"action": "create", "file_path": "notify.py", "content": NOTIFY},
        ]
        commit = await api(
            session,
            async_sandbox,
            "POST",
            f"/projects/{pid}/repository/commits",
            {"branch": "main", "commit_message": "CI", "actions": actions},
        )
        await api(
            session,
            async_sandbox,
            "POST",
            f"/projects/{pid}/repository/tags",
            {"tag_name": "v1.0.0", "ref": "main"},
        )
        state = async_sandbox.state
        [pipeline] = await wait_for_settled(state, pid, tag=True)
    finally:
        await runner.cleanup()

    assert pipeline.status == "success"
    assert [p.ref for p in state.store.find("ci_pipelines", project_id=pid)] == [
        "v1.0.0"
    ], "the branch pushes have no job (rules: if $CI_COMMIT_TAG)"
    [call] = receiver.verified
    job, claims = call["job"], call["claims"]
    assert call["tag"] == "v1.0.0"
    assert job["status"] == "running" and job["tag"] is True
    assert job["pipeline"] == {
        "id": pipeline.id,
        "project_id": pid,
        "ref": "v1.0.0",
        "sha": commit["id"],
        "status": "running",
    }
    assert job["user"]["username"] == "root"
    assert job["web_url"] == f"{async_sandbox.url}/root/service/-/jobs/{job['id']}"
    assert "project" not in job
    assert claims["sub"] == "project_path:root/service:ref_type:tag:ref:v1.0.0"
    assert claims["aud"] == AUDIENCE
    assert claims["iss"] == async_sandbox.url
    assert (claims["project_id"], claims["project_path"]) == (str(pid), "root/service")
    assert (claims["ref"], claims["ref_type"], claims["ref_path"]) == (
        "v1.0.0",
        "tag",
        "refs/tags/v1.0.0",
    )
    assert claims["ref_protected"] == "false"
    assert claims["pipeline_id"] == str(pipeline.id)
    assert claims["pipeline_source"] == "push"
    assert claims["job_id"] == str(job["id"])
    assert claims["user_login"] == "root"
    assert claims["namespace_path"] == "root"
    assert claims["exp"] > claims["iat"] >= claims["nbf"]

    async with session.get(
        f"{async_sandbox.url}/api/v4/job",
        headers={"JOB-TOKEN": receiver.job_tokens[0]},
    ) as answer:
        assert answer.status == 401
        assert await answer.json() == {"message": "401 Unauthorized"}
    trace = state.store.get("ci_jobs", job["id"]).trace
    assert "receiver said deployed" in trace
    assert receiver.job_tokens[0] not in trace


async def test_key_rotation_publishes_new_keys_and_retires_old_ones(
    async_sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    """Rotation keeps the previous key in the JWKS until it is retired."""
    keys_url = f"{async_sandbox.url}/oauth/discovery/keys"
    control = f"{async_sandbox.url}/-/sandbox/rotate-keys"
    headers = {"PRIVATE-TOKEN": async_sandbox.root_token}
    async with session.get(keys_url) as answer:
        [first] = (await answer.json())["keys"]
    assert (first["kty"], first["alg"], first["use"]) == ("RSA", "RS256", "sig")

    async with session.post(control, headers=headers) as answer:
        assert answer.status == 201
        rotated = await answer.json()
    assert rotated["published"] == [rotated["kid"], first["kid"]]

    async with session.post(
        control, json={"retire_previous": True}, headers=headers
    ) as answer:
        retired = await answer.json()
    async with session.get(keys_url) as answer:
        kids = [key["kid"] for key in (await answer.json())["keys"]]
    assert kids == [retired["kid"]] and first["kid"] not in kids

    async with session.post(control) as answer:
        assert answer.status == 401, "rotation is an administrator's control"
