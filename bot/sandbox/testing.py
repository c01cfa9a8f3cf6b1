"""pytest fixtures and helpers for tests that need a GitLab.

Register with ``pytest_plugins = ["bot.sandbox.testing"]``. Fixtures:
``sandbox`` (a SandboxThread for one test), ``gl`` (python-gitlab as root),
``async_sandbox`` (a Sandbox on the test's own event loop), and
``make_user`` / ``make_project`` factories.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import gitlab
import pytest
from gitlab.v4.objects import Project

from bot.sandbox.server import Sandbox, SandboxThread

CLIENT_TIMEOUT_SECONDS = 30


def client(sandbox: SandboxThread | Sandbox, token: str) -> gitlab.Gitlab:
    """Return a python-gitlab client for ``sandbox`` authenticated by ``token``."""
    return gitlab.Gitlab(
        sandbox.url, private_token=token, timeout=CLIENT_TIMEOUT_SECONDS
    )


def create_user(
    gl: gitlab.Gitlab, username: str, *, admin: bool = False
) -> tuple[Any, str]:
    """Create ``username`` through the API; return (user object, its token)."""
    user = gl.users.create(
        {
            "username": username,
            "name": username.replace("-", " ").title(),
            "email": f"{username}@example.com",
            "password": "sandbox-password-1",
            "admin": admin,
        }
    )
    token = user.personal_access_tokens.create({"name": "tests", "scopes": ["api"]})
    return user, token.token


def create_project(
    gl: gitlab.Gitlab,
    name: str,
    files: dict[str, str] | None = None,
    **settings: Any,
) -> Project:
    """Create a project with a README (and ``files`` in a second commit)."""
    project = gl.projects.create(
        {"name": name, "initialize_with_readme": True, **settings}
    )
    if files:
        actions = [
            {"action": "create", "file_path": path, "content": content}
            for path, content in files.items()
        ]
        project.commits.create(
            {
                "branch": project.default_branch,
                "commit_message": "Add files",
                "actions": actions,
            }
        )
    return project


@pytest.fixture
def sandbox() -> Iterator[SandboxThread]:
    """A sandbox for one test, served from a background thread."""
    with SandboxThread() as running:
        yield running


@pytest.fixture
def gl(sandbox: SandboxThread) -> gitlab.Gitlab:
    """A python-gitlab client logged in as the sandbox's administrator."""
    return client(sandbox, sandbox.root_token)


@pytest.fixture
async def async_sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox on the test's own event loop (for aiohttp-based tests)."""
    async with Sandbox() as running:
        yield running


@pytest.fixture
def make_user(
    gl: gitlab.Gitlab, sandbox: SandboxThread
) -> Callable[..., tuple[Any, gitlab.Gitlab]]:
    """Factory: ``make_user("dev")`` -> (user object, a client logged in as it)."""

    def make(username: str, *, admin: bool = False) -> tuple[Any, gitlab.Gitlab]:
        user, token = create_user(gl, username, admin=admin)
        return user, client(sandbox, token)

    return make


@pytest.fixture
def make_project(gl: gitlab.Gitlab) -> Callable[..., Project]:
    """Factory: ``make_project("app", {"path": "text"}, merge_method="ff")``."""

    def make(
        name: str = "demo", files: dict[str, str] | None = None, **settings: Any
    ) -> Project:
        return create_project(gl, name, files, **settings)

    return make
