"""Fixtures of the adapter tests: the GitOps project and the bot's adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.gitlab import GitLab
from bot.sandbox.server import SandboxThread
from tests.deploy.conftest import control, project  # noqa: F401  (shared fixtures)
from tests.gitlab.world import adapter


@pytest.fixture
async def bot(
    sandbox: SandboxThread,
    project: Any,  # noqa: F811
) -> AsyncIterator[GitLab]:
    """The bot's adapter on the GitOps project, with fast retries."""
    client = adapter(sandbox.url, sandbox.root_token, project.path_with_namespace)
    yield client
    client.close()
