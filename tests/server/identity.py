"""A stand-in for GitLab's identity side: OIDC discovery, JWKS, job tokens.

It signs ID tokens with RSA keys made for the test and serves their public
halves, so that key rotation and forged signatures can be staged. It also
answers ``GET /api/v4/job`` for the job tokens a test registers.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

AUDIENCE = "https://gitops-bot.example.com"


def new_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA signing key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# Generating RSA keys is slow; the first key is the same in every test.
_first_key = functools.cache(new_key)


class Identity:
    """Keys, tokens and the aiohttp app that publishes them."""

    def __init__(self) -> None:
        self.url = ""
        self.keys: dict[str, rsa.RSAPrivateKey] = {"key-1": _first_key()}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.key_fetches = 0
        self.version_calls = 0

    def rotate(self) -> str:
        """Publish a new signing key (the old one stays); return its id."""
        key_id = f"key-{len(self.keys) + 1}"
        self.keys[key_id] = new_key()
        return key_id

    def id_token(
        self,
        project_path: str | None = "shop/web",
        *,
        key_id: str = "key-1",
        key: rsa.RSAPrivateKey | None = None,
        **claims: Any,
    ) -> str:
        """An ID token as GitLab mints it; ``claims`` override (None drops)."""
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": f"project_path:{project_path}:ref_type:tag:ref:v1.0.0",
            "project_path": project_path,
            "ref": "v1.0.0",
            "pipeline_id": "42",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        signer = key or self.keys[key_id]
        return jwt.encode(payload, signer, algorithm="RS256", headers={"kid": key_id})

    def add_job(
        self,
        token: str,
        project_path: str,
        status: str = "running",
        user: str | None = "root",
    ) -> None:
        """Let ``token`` be the CI job token of a job in ``project_path``,
        started by ``user`` (None: an answer without a ``user`` object)."""
        self.jobs[token] = {
            "id": len(self.jobs) + 1,
            "status": status,
            **({} if user is None else {"user": {"id": 1, "username": user}}),
            "pipeline": {"id": 6, "project_id": 1, "ref": "main", "status": status},
            "web_url": f"{self.url}/{project_path}/-/jobs/{len(self.jobs) + 1}",
        }

    def app(self) -> web.Application:
        """The HTTP side: discovery, keys, the job-token endpoint, version."""
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/oauth/discovery/keys", self._jwks)
        app.router.add_get("/api/v4/job", self._job)
        app.router.add_get("/api/v4/version", self._version)
        return app

    async def _discovery(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"issuer": self.url, "jwks_uri": f"{self.url}/oauth/discovery/keys"}
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        self.key_fetches += 1
        keys = []
        for key_id, key in self.keys.items():
            public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**public, "kid": key_id, "use": "sig", "alg": "RS256"})
        return web.json_response({"keys": keys})

    async def _job(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.headers.get("JOB-TOKEN", ""))
        if job is None or job["status"] != "running":
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        return web.json_response(job)

    async def _version(self, request: web.Request) -> web.Response:
        self.version_calls += 1
        return web.json_response({"message": "401 Unauthorized"}, status=401)
