"""Fixtures of the adapter tests: a GitOps project and the bot's adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gitlab
import pytest

from bot.gitlab import GitLab
from bot.sandbox.server import SandboxThread
from tests.deploy.conftest import gitops_files
from tests.gitlab.world import Control, adapter, seed_project


@pytest.fixture
def project(gl: gitlab.Gitlab) -> Any:
    """The GitOps project, seeded with the deploy tests' files."""
    return seed_project(gl, "gitops", gitops_files())


@pytest.fixture
def control(sandbox: SandboxThread) -> Control:
    """Faults and the request log of the sandbox."""
    return Control(sandbox.url, sandbox.root_token)


@pytest.fixture
async def bot(sandbox: SandboxThread, project: Any) -> AsyncIterator[GitLab]:
    """The bot's adapter on the GitOps project, with fast retries."""
    client = adapter(sandbox.url, sandbox.root_token, project.path_with_namespace)
    yield client
    client.close()
