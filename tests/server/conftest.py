"""Fixtures of the server tests: the bot started in-process on loopback.

``bot`` is a test client of a server whose identity side (JWKS, job
tokens) is ``Identity`` and whose GitLab adapter points at ``gitlab_url``:
nobody listens there by default, so any GitLab call ends in a 503.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import structlog
from aiohttp.test_utils import TestClient

from bot.config import Config, parse_config
from bot.jobs import connect
from bot.server.app import create_app
from bot.server.router import Router
from tests.gitlab.world import close_with
from tests.server.identity import Identity

DATA = Path(__file__).resolve().parent.parent / "data" / "server"
WEBHOOK_SECRET = "whsec-test-5b1f0c2e9a"
GITLAB_TOKEN = "glpat-server-test-7d3e"
WEB_TOKEN = "static-web-token-91c4"
SECRETS = {
    "SERVER_TEST_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "SERVER_TEST_GITLAB_TOKEN": GITLAB_TOKEN,
    "SERVER_TEST_WEB_TOKEN": WEB_TOKEN,
}
NOBODY = "http://127.0.0.1:1"
GITOPS_PROJECT = "root/gitops"

MakeBot = Callable[..., Awaitable[TestClient]]


def server_config(url: str, **server: object) -> Config:
    """The server tests' configuration with ``gitlab.url`` = ``url``."""
    text = (DATA / "bot.yaml").read_text()
    for key, value in server.items():
        line = re.compile(rf"^  {key}: .*$", re.MULTILINE)
        if line.search(text):
            text = line.sub(f"  {key}: {value}", text)
        else:
            text = text.replace("server:\n", f"server:\n  {key}: {value}\n", 1)
    return parse_config(text, str(DATA / "bot.yaml"), {"GITOPS_BOT_GITLAB_URL": url})


@pytest.fixture(autouse=True)
def default_structlog() -> Iterator[None]:
    """Start from structlog's defaults: another module's tests may have bound
    its output to a stream pytest has closed since (bot.jobs does)."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture
async def identity(aiohttp_server) -> Identity:
    """GitLab's identity side, listening on loopback."""
    fake = Identity()
    server = await aiohttp_server(fake.app())
    fake.url = f"http://127.0.0.1:{server.port}"
    return fake


@pytest.fixture
def make_bot(aiohttp_client, identity: Identity) -> MakeBot:
    """Factory: a client of the bot; ``gitlab_url`` for the adapter's GitLab."""

    async def make(
        *,
        gitlab_url: str = NOBODY,
        gitlab_token: str = GITLAB_TOKEN,
        routers: list[Router] | None = None,
        clock: Callable[[], float] = time.monotonic,
        identity_url: str | None = None,
        **server: object,
    ) -> TestClient:
        config = server_config(identity_url or identity.url, **server)
        adapter_config = server_config(gitlab_url, **server)
        gitlab = connect(adapter_config, gitlab_token)
        app = create_app(
            config, gitlab=gitlab, routers=routers or [], environ=SECRETS, clock=clock
        )
        close_with(app, gitlab)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def bot(make_bot: MakeBot) -> TestClient:
    """The bot with default settings and no GitLab behind its adapter."""
    return await make_bot()
