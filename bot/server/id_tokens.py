"""Verification of GitLab CI/CD ID tokens (OIDC JWTs) against the JWKS.

The keys come from the instance's discovery document
(``<gitlab>/.well-known/openid-configuration`` -> ``jwks_uri``) and are
cached. A token signed with a key id we do not hold makes us fetch the keys
once more (GitLab rotated its signing key). Such refetches happen at most
once per ``REFRESH_INTERVAL`` so that made-up key ids cannot make us hammer
GitLab; the first fetch does not count, so a rotation right after it is
still seen.

See GitLab's "OpenID Connect (OIDC) Authentication Using ID Tokens" page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from bot.errors import GitLabError, GitopsBotError

ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 30
REFRESH_INTERVAL = 10.0
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "project_path"]


class Unauthorized(GitopsBotError):
    """The caller's credentials are missing or wrong; the message says which."""

    exit_status = 2
    http_status = 401


class KeysUnavailable(GitLabError):
    """GitLab's discovery document or key set could not be read."""

    http_status = 503


@dataclass(frozen=True)
class IdTokenClaims:
    """What the bot uses of a verified ID token."""

    project_path: str
    subject: str
    ref: str
    pipeline_id: str
    user_login: str | None = None


class KeySet:
    """The instance's signing keys, fetched on demand and cached by key id."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        gitlab_url: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Read keys of the GitLab at ``gitlab_url`` through ``session``."""
        self._session = session
        self._discovery_url = f"{gitlab_url}/.well-known/openid-configuration"
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._refetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def fetch_key(self, key_id: str) -> Any:
        """Return the public key for ``key_id``, refreshing the set once if unknown.

        Raises:
            Unauthorized: GitLab does not publish that key.
            KeysUnavailable: GitLab could not be asked.
        """
        async with self._lock:
            if key_id not in self._keys and self._may_refresh():
                await self._refresh()
        try:
            return self._keys[key_id]
        except KeyError:
            raise Unauthorized(
                f"ID token is signed with an unknown key (kid {key_id!r})"
            ) from None

    def _may_refresh(self) -> bool:
        if self._fetched_at is None:
            return True
        last = self._refetched_at
        if last is not None and self._clock() - last < REFRESH_INTERVAL:
            return False
        self._refetched_at = self._clock()
        return True

    async def _refresh(self) -> None:
        discovery = await self._fetch_json(self._discovery_url)
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise KeysUnavailable(f"{self._discovery_url}: no jwks_uri in the answer")

        try:
            key_set = jwt.PyJWKSet.from_dict(await self._fetch_json(jwks_uri))
        except jwt.PyJWTError as error:
            raise KeysUnavailable(f"{jwks_uri}: no usable key: {error}") from error
        self._keys = {key.key_id: key.key for key in key_set.keys if key.key_id}
        self._fetched_at = self._clock()

    async def _fetch_json(self, url: str) -> Mapping[str, Any]:
        try:
            async with self._session.get(url) as response:
                response.raise_for_status()
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise KeysUnavailable(f"reading {url} failed: {error}") from error
        if not isinstance(body, Mapping):
            raise KeysUnavailable(f"{url}: expected a JSON object")
        return body


class IdTokenVerifier:
    """Checks signature, algorithm, issuer, audience and times of ID tokens."""

    def __init__(self, keys: KeySet, issuer: str, audience: str | None) -> None:
        """Accept tokens issued by ``issuer`` for ``audience``, signed by ``keys``.

        With no ``audience`` configured every ID token is refused.
        """
        self._keys = keys
        self._issuer = issuer
        self._audience = audience

    async def verify(self, token: str) -> IdTokenClaims:
        """Return the claims of a valid token.

        Raises:
            Unauthorized: the token is malformed, forged, expired, not yet
                valid, or for another issuer or audience; says which.
        """
        if not self._audience:
            raise Unauthorized(
                "ID tokens are not accepted: server.id_token_audience is not set"
            )
        key_id = _ensure_rs256_header(token)
        key = await self._keys.fetch_key(key_id)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(self._explain(error)) from None
        return _claims_from(claims)

    def _explain(self, error: jwt.PyJWTError) -> str:
        reasons: list[tuple[type[jwt.PyJWTError], str]] = [
            (jwt.ExpiredSignatureError, "ID token has expired"),
            (jwt.ImmatureSignatureError, "ID token is not valid yet (nbf or iat)"),
            (jwt.InvalidAudienceError, f"ID token audience is not {self._audience!r}"),
            (jwt.InvalidIssuerError, f"ID token issuer is not {self._issuer!r}"),
            (jwt.InvalidSignatureError, "ID token signature does not verify (forged?)"),
        ]
        for kind, reason in reasons:
            if isinstance(error, kind):
                return reason
        if isinstance(error, jwt.MissingRequiredClaimError):
            return f"ID token lacks the {error.claim!r} claim"
        return "ID token is malformed"


def _ensure_rs256_header(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("ID token is malformed") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise Unauthorized(f"ID token algorithm {algorithm!r} is refused; RS256 only")
    key_id = header.get("kid")
    if not isinstance(key_id, str) or not key_id:
        raise Unauthorized("ID token header names no signing key (kid)")
    return key_id


def _claims_from(claims: Mapping[str, Any]) -> IdTokenClaims:
    project_path = claims["project_path"]
    if not isinstance(project_path, str) or not project_path:
        raise Unauthorized("ID token claim 'project_path' is not a project path")
    return IdTokenClaims(
        project_path=project_path,
        subject=str(claims.get("sub", "")),
        ref=str(claims.get("ref", "")),
        pipeline_id=str(claims.get("pipeline_id", "")),
        user_login=_text_claim(claims, "user_login"),
    )


def _text_claim(claims: Mapping[str, Any], name: str) -> str | None:
    """A non-empty string claim, or None when absent or of another type."""
    value = claims.get(name)
    return value if isinstance(value, str) and value else None
