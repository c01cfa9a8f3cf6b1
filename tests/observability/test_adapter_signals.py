"""What the GitLab adapter tells GitLab and the metrics about each call:
the request id as ``X-Request-Id``, and each retry where it happens."""

from __future__ import annotations

import pytest
import structlog
from aiohttp import web

from bot.gitlab import GitLab, GitLabNotFound, GitLabUnavailable, RetryPolicy

ROUTE = "GET /projects/:id/repository/branches/:branch"
FAST = RetryPolicy(deadline_seconds=2, backoff_base_seconds=0, backoff_max_seconds=0)


class Recorder:
    """A loopback GitLab answering the statuses it is given, then 404."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.request_ids: list[str | None] = []

    async def answer(self, request: web.Request) -> web.Response:
        self.request_ids.append(request.headers.get("X-Request-Id"))
        status = self.statuses.pop(0) if self.statuses else 404
        return web.json_response({"message": f"{status}"}, status=status)


async def adapter(aiohttp_server, recorder: Recorder) -> GitLab:
    """The adapter pointed at ``recorder``, retrying without waiting."""
    app = web.Application()
    app.router.add_get("/api/v4/{tail:.*}", recorder.answer)
    server = await aiohttp_server(app)
    return GitLab(f"http://127.0.0.1:{server.port}", "glpat-x", "g/p", policy=FAST)


async def test_request_id_goes_to_gitlab_on_every_attempt(aiohttp_server) -> None:
    """Inside a bound request id, every attempt (the retried one too) carries
    it as ``X-Request-Id``; outside one, no such header is sent."""
    recorder = Recorder(503)
    gitlab = await adapter(aiohttp_server, recorder)

    with (
        structlog.contextvars.bound_contextvars(request_id="req-7f3"),
        pytest.raises(GitLabNotFound),
    ):
        await gitlab.fetch_branch("main")
    with pytest.raises(GitLabNotFound):
        await gitlab.fetch_branch("main")
    gitlab.close()

    assert recorder.request_ids == ["req-7f3", "req-7f3", None]


@pytest.mark.parametrize(
    ("statuses", "retries"),
    [
        ((), {}),
        ((502,), {(ROUTE, "502"): 1}),
        ((429, 503, 503), {(ROUTE, "429"): 1, (ROUTE, "503"): 2}),
    ],
)
async def test_each_retry_is_counted_by_the_status_that_caused_it(
    aiohttp_server, statuses: tuple[int, ...], retries: dict
) -> None:
    """Retries are counted where tenacity retries: one per transient answer
    that was followed by another attempt; a definite 404 is not retried."""
    gitlab = await adapter(aiohttp_server, Recorder(*statuses))

    with pytest.raises(GitLabNotFound):
        await gitlab.fetch_branch("main")
    gitlab.close()

    assert gitlab.counter.retry_snapshot() == retries


async def test_the_attempt_that_gives_up_is_no_retry(aiohttp_server) -> None:
    """When the deadline ends the retrying, the last failed attempt is not
    counted as a retry: retries = attempts - 1."""
    gitlab = GitLab(
        "http://127.0.0.1:1",
        "glpat-x",
        "g/p",
        policy=RetryPolicy(deadline_seconds=0.3, backoff_base_seconds=0.05),
    )

    with pytest.raises(GitLabUnavailable):
        await gitlab.fetch_branch("main")
    gitlab.close()

    attempts = gitlab.counter.snapshot()[(ROUTE, "no-answer")]
    assert gitlab.counter.retry_snapshot() == {(ROUTE, "no-answer"): attempts - 1}
