"""/readyz against the offline GitLab: ready only when GitLab answers AND
takes the bot's token; each way of failing is named; answers are cached."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest
from aiohttp.test_utils import TestClient

from bot.jobs import connect
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client, create_user
from bot.server.app import create_app
from bot.server.readiness import CACHE_SECONDS
from tests.gitlab.world import Control, close_with
from tests.server.conftest import SECRETS, server_config

MakeBot = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def sandbox() -> Iterator[SandboxThread]:
    """The offline GitLab in its own thread."""
    running = SandboxThread()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def bot_user(sandbox: SandboxThread) -> tuple[int, str]:
    """The bot's user on the offline GitLab: (id, token)."""
    user, token = create_user(client(sandbox, sandbox.root_token), "gitops-bot")
    return user.id, token


@pytest.fixture
def make_bot(aiohttp_client, sandbox: SandboxThread) -> MakeBot:
    """Factory: the bot on loopback, pointed at the sandbox with ``token``."""

    async def make(token: str, clock: Callable[[], float] | None = None) -> TestClient:
        config = server_config(sandbox.url)
        gitlab = connect(config, token)
        environ = {**SECRETS, "SERVER_TEST_GITLAB_TOKEN": token}
        options = {"clock": clock} if clock else {}
        app = create_app(config, gitlab=gitlab, routers=[], environ=environ, **options)
        close_with(app, gitlab)
        return await aiohttp_client(app)

    return make


async def readyz(bot: TestClient) -> tuple[int, str]:
    """GET /readyz: (status, detail)."""
    answer = await bot.get("/readyz")
    return answer.status, (await answer.json())["detail"]


async def test_ready_when_gitlab_answers_and_takes_the_token(
    make_bot: MakeBot, bot_user: tuple[int, str]
) -> None:
    """A reachable GitLab that accepts the bot's token: 200."""
    bot = await make_bot(bot_user[1])

    assert await readyz(bot) == (200, "GitLab answered and accepts the bot's token")


async def test_unknown_token_is_not_ready(make_bot: MakeBot) -> None:
    """GitLab is up but does not know the token: 503 naming the token, not
    showing it."""
    token = "glpat-unknown-0000000000"
    bot = await make_bot(token)

    status, detail = await readyz(bot)

    assert status == 503
    assert detail.startswith("GitLab refuses the bot's token (401)")
    assert token not in detail


async def test_token_of_a_blocked_user_stops_being_ready(
    make_bot: MakeBot, sandbox: SandboxThread, bot_user: tuple[int, str]
) -> None:
    """A token that worked stops working (its user blocked, as after a
    revocation): the next probe past the cache says so."""
    now = [0.0]
    bot = await make_bot(bot_user[1], clock=lambda: now[0])
    assert (await readyz(bot))[0] == 200

    client(sandbox, sandbox.root_token).http_post(f"/users/{bot_user[0]}/block")
    now[0] += CACHE_SECONDS

    status, detail = await readyz(bot)
    assert status == 503
    assert "refuses the bot's token (401)" in detail


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"status": 503}, "GitLab unavailable: it answered 503"),
        ({"status": 500}, "GitLab unavailable: it answered 500"),
        ({"drop": True}, "GitLab unreachable: ServerDisconnectedError"),
    ],
)
async def test_gitlab_failing_is_not_ready(
    make_bot: MakeBot,
    sandbox: SandboxThread,
    bot_user: tuple[int, str],
    fault: dict,
    expected: str,
) -> None:
    """GitLab answering 5xx or dropping the connection: 503 saying which.
    The fault covers several attempts: aiohttp repeats a GET once by itself
    after a dropped connection."""
    Control(sandbox.url, sandbox.root_token).inject(
        method="GET", path="^/api/v4/user$", count=3, **fault
    )
    bot = await make_bot(bot_user[1])

    assert await readyz(bot) == (503, expected)


async def test_nothing_listening_is_not_ready(aiohttp_client) -> None:
    """No GitLab at the configured address: 503, unreachable."""
    config = server_config("http://127.0.0.1:1")
    gitlab = connect(config, "glpat-any")
    app = create_app(config, gitlab=gitlab, routers=[], environ=SECRETS)
    close_with(app, gitlab)
    bot = await aiohttp_client(app)

    status, detail = await readyz(bot)

    assert status == 503
    assert detail == "GitLab unreachable: ClientConnectorError"


async def test_probes_are_cached_for_a_few_seconds(
    make_bot: MakeBot, sandbox: SandboxThread, bot_user: tuple[int, str]
) -> None:
    """Probes within ``CACHE_SECONDS`` cost one GitLab call; the next one
    after it asks again."""
    now = [0.0]
    control = Control(sandbox.url, sandbox.root_token)
    bot = await make_bot(bot_user[1], clock=lambda: now[0])
    control.clear_log()

    for _ in range(3):
        await readyz(bot)
    first = control.calls()["GET /user"]
    now[0] += CACHE_SECONDS
    await readyz(bot)

    assert (first, control.calls()["GET /user"]) == (1, 2)
