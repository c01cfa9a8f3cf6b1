"""Who is calling the deploy API: the caller's project, proven three ways.

1. ``Authorization: Bearer <GitLab CI/CD ID token>``, verified against the
   instance's keys (``bot.server.id_tokens``); the project is the token's
   ``project_path`` claim.
2. ``JOB-TOKEN: <CI_JOB_TOKEN>``, verified by asking GitLab whose job it is
   (``GET /api/v4/job``); a finished job's token is refused by GitLab.
3. ``Authorization: Bearer <static token>`` matching one of the configured
   per-service tokens, compared in constant time; for instances with
   neither of the above.

The project never comes from the request body. Messages say what was
wrong and never repeat the token. The first two also name the person who
started the pipeline (the ID token's ``user_login`` claim, the job's
``user.username``): that is who requested the deploy, whose own approval
does not count. A static token names nobody.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.config import StaticTokenValue
from bot.server.id_tokens import IdTokenVerifier, KeysUnavailable, Unauthorized

# Jobs in these states no longer hold a valid token; GitLab answers 401 for
# them, this is a second check against a race with the job's end.
FINISHED_JOB_STATES = frozenset({"success", "failed", "canceled", "skipped"})


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its project, how it proved it, and who ran it.

    ``user`` is the GitLab username behind the pipeline, None when the
    credentials do not say (static tokens).
    """

    project_path: str
    method: str
    detail: str = ""
    user: str | None = None


class JobTokenVerifier:
    """Asks GitLab which job, and so which project, a CI job token belongs to."""

    def __init__(self, session: aiohttp.ClientSession, gitlab_url: str) -> None:
        """Verify tokens with the GitLab at ``gitlab_url`` through ``session``."""
        self._session = session
        self._gitlab_url = gitlab_url

    async def verify(self, token: str) -> Caller:
        """Return the job's project as a caller.

        Raises:
            Unauthorized: GitLab does not know the token or its job finished.
            KeysUnavailable: GitLab could not be asked.
        """
        url = f"{self._gitlab_url}/api/v4/job"
        try:
            async with self._session.get(url, headers={"JOB-TOKEN": token}) as answer:
                if answer.status == 401:
                    raise Unauthorized(
                        "job token is not valid (unknown, or its job has finished)"
                    )
                answer.raise_for_status()
                job = await answer.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise KeysUnavailable(f"verifying a job token failed: {error}") from error
        return self._caller_from(job)

    def _caller_from(self, job: Any) -> Caller:
        if not isinstance(job, Mapping):
            raise KeysUnavailable("GET /api/v4/job: expected a JSON object")
        if job.get("status") in FINISHED_JOB_STATES:
            raise Unauthorized(f"job token belongs to a finished job ({job['status']})")
        project_path = _job_project_path(job, self._gitlab_url)
        if not project_path:
            raise KeysUnavailable("GET /api/v4/job: the answer names no project")
        return Caller(project_path, "job_token", f"job {job.get('id')}", _job_user(job))


def _job_user(job: Mapping[str, Any]) -> str | None:
    """The username of whoever started the job's pipeline, when GitLab says."""
    user = job.get("user")
    if not isinstance(user, Mapping):
        return None
    username = user.get("username")
    return username if isinstance(username, str) and username else None


def _job_project_path(job: Mapping[str, Any], gitlab_url: str) -> str:
    # GitLab's answer has no project object (only pipeline.project_id); the
    # job's web_url is <gitlab>/<project path>/-/jobs/<id>. A "project"
    # object is read first in case an instance does send one.
    project = job.get("project")
    if isinstance(project, Mapping) and project.get("path_with_namespace"):
        return str(project["path_with_namespace"])
    web_url = job.get("web_url")
    if not isinstance(web_url, str) or "/-/jobs/" not in web_url:
        return ""
    before_jobs = web_url.split("/-/jobs/", 1)[0]
    if before_jobs.startswith(gitlab_url + "/"):
        return before_jobs[len(gitlab_url) + 1 :]
    # The instance may report another host name than the one we call.
    return before_jobs.split("://", 1)[-1].split("/", 1)[-1]


class Authenticator:
    """Turns a request's headers into a ``Caller``, or refuses them."""

    def __init__(
        self,
        id_tokens: IdTokenVerifier,
        job_tokens: JobTokenVerifier,
        static_tokens: Sequence[StaticTokenValue] = (),
    ) -> None:
        """Use the given verifiers; ``static_tokens`` may be empty."""
        self._id_tokens = id_tokens
        self._job_tokens = job_tokens
        self._static_tokens = tuple(static_tokens)

    async def authenticate(self, headers: Mapping[str, str]) -> Caller:
        """Return the verified caller.

        Raises:
            Unauthorized: no credentials, or wrong ones; the message says which.
            KeysUnavailable: GitLab was needed to verify and could not be asked.
        """
        job_token = headers.get("JOB-TOKEN", "").strip()
        if job_token:
            return await self._job_tokens.verify(job_token)

        bearer = _bearer(headers.get("Authorization", ""))
        static = self._match_static(bearer)
        if static is not None:
            return Caller(static.project, "static_token")
        if bearer.count(".") == 2:
            claims = await self._id_tokens.verify(bearer)
            return Caller(
                claims.project_path, "id_token", claims.subject, claims.user_login
            )
        raise Unauthorized("bearer token is neither an ID token nor a known token")

    def _match_static(self, bearer: str) -> StaticTokenValue | None:
        # Compare against every token, without stopping at a match, so that
        # the time taken does not tell which one (or how many) exist.
        found = None
        for token in self._static_tokens:
            if hmac.compare_digest(token.token.encode(), bearer.encode()):
                found = token
        return found


def _bearer(authorization: str) -> str:
    scheme, _, value = authorization.strip().partition(" ")
    if not authorization.strip():
        raise Unauthorized(
            "no credentials: send 'Authorization: Bearer <ID token>' or "
            "'JOB-TOKEN: <CI job token>'"
        )
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return value.strip()
