"""The identity of a running job: CI job tokens and RS256 ID tokens.

A job token lives in memory from the job's start to its end, so
``GET /api/v4/job`` answers 401 once the job has finished. ID tokens carry
GitLab's claim set (doc ``ci/secrets/id_token_authentication.md``; ids and
booleans as strings, as in its example) and are signed with the instance
key published at ``/oauth/discovery/keys``. Rotation makes a new key the
signing key and keeps the previous one published until it is retired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DEFAULT_ID_TOKEN_SECONDS = 300
JOB_TOKEN_PREFIX = "glcbt-"


class JobTokens:
    """Job tokens of the jobs running now."""

    def __init__(self) -> None:
        self._by_job: dict[int, str] = {}

    def issue(self, job_id: int) -> str:
        """Make the token of job ``job_id`` (valid until ``revoke``)."""
        token = JOB_TOKEN_PREFIX + secrets.token_urlsafe(20)
        self._by_job[job_id] = token
        return token

    def revoke(self, job_id: int) -> None:
        """End the token of job ``job_id``."""
        self._by_job.pop(job_id, None)

    def job_for(self, token: str) -> int | None:
        """The running job that owns ``token``, or None (compared in constant time)."""
        for job_id, known in self._by_job.items():
            if hmac.compare_digest(known, token):
                return job_id
        return None


@dataclass(frozen=True)
class SigningKey:
    """An RSA key with its key id (the RFC 7638 thumbprint)."""

    kid: str
    private: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK with ``kid``, ``use`` and ``alg``."""
        jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


def new_key() -> SigningKey:
    """Generate a 2048-bit RSA key and its thumbprint key id."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    canonical = f'{{"e":"{jwk["e"]}","kty":"RSA","n":"{jwk["n"]}"}}'
    digest = hashlib.sha256(canonical.encode()).digest()
    kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return SigningKey(kid, private)


class SigningKeys:
    """The instance's CI signing key and the keys still published."""

    def __init__(self) -> None:
        self._keys: list[SigningKey] = []

    def current(self) -> SigningKey:
        """The key new tokens are signed with (made on first use)."""
        if not self._keys:
            self._keys.append(new_key())
        return self._keys[-1]

    def rotate(self, retire_previous: bool = False) -> SigningKey:
        """Sign with a new key; keep the older ones published unless retired."""
        key = new_key()
        self._keys = [key] if retire_previous else [*self._keys[-1:], key]
        return key

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of every published key."""
        self.current()
        return {"keys": [key.public_jwk() for key in reversed(self._keys)]}

    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 JWT of ``claims`` with the current key's ``kid``."""
        key = self.current()
        pem = key.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": key.kid})


@dataclass(frozen=True)
class JobIdentity:
    """What an ID token says about a job."""

    issuer: str
    project_id: int
    project_path: str
    namespace_id: int
    namespace_path: str
    user_id: int
    user_login: str
    user_email: str
    pipeline_id: int
    pipeline_source: str
    job_id: int
    ref: str
    ref_type: str  # "branch" | "tag"
    ref_protected: bool
    sha: str
    environment: str | None = None
    timeout: int | None = None


def id_token_claims(
    identity: JobIdentity, audience: str | list[str], now: float | None = None
) -> dict[str, Any]:
    """GitLab's claim set for one job and audience."""
    issued = int(time.time() if now is None else now)
    lifetime = identity.timeout or DEFAULT_ID_TOKEN_SECONDS
    ref_prefix = "refs/tags/" if identity.ref_type == "tag" else "refs/heads/"
    claims: dict[str, Any] = {
        "namespace_id": str(identity.namespace_id),
        "namespace_path": identity.namespace_path,
        "project_id": str(identity.project_id),
        "project_path": identity.project_path,
        "user_id": str(identity.user_id),
        "user_login": identity.user_login,
        "user_email": identity.user_email,
        "user_access_level": None,
        "pipeline_id": str(identity.pipeline_id),
        "pipeline_source": identity.pipeline_source,
        "job_id": str(identity.job_id),
        "ref": identity.ref,
        "ref_type": identity.ref_type,
        "ref_path": ref_prefix + identity.ref,
        "ref_protected": "true" if identity.ref_protected else "false",
        "runner_id": 1,
        "runner_environment": "self-hosted",
        "sha": identity.sha,
        "project_visibility": "private",
        "ci_config_ref_uri": f"{_host(identity.issuer)}/{identity.project_path}"
        f"//.gitlab-ci.yml@{ref_prefix}{identity.ref}",
        "ci_config_sha": identity.sha,
        "jti": str(uuid.uuid4()),
        "iss": identity.issuer,
        "iat": issued,
        "nbf": issued - 5,
        "exp": issued + lifetime,
        "sub": f"project_path:{identity.project_path}:ref_type:"
        f"{identity.ref_type}:ref:{identity.ref}",
        "aud": audience,
    }
    if identity.environment:
        claims["environment"] = identity.environment
        claims["environment_protected"] = "false"
    return claims


def _host(url: str) -> str:
    return url.split("://", 1)[-1]


def openid_configuration(issuer: str) -> dict[str, Any]:
    """The discovery document GitLab serves at ``/.well-known/openid-configuration``."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "jwks_uri": f"{issuer}/oauth/discovery/keys",
        "scopes_supported": ["api", "read_api", "openid", "profile", "email"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claim_types_supported": ["normal"],
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "sub_legacy",
            "name",
            "nickname",
            "preferred_username",
            "email",
            "email_verified",
            "website",
            "profile",
            "picture",
            "groups",
            "groups_direct",
        ],
    }
