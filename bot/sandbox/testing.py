"""pytest fixtures and helpers for tests that need a GitLab.

Register with ``pytest_plugins = ["bot.sandbox.testing"]``. Fixtures:
``sandbox`` (a SandboxThread for one test), ``gl`` (python-gitlab as root),
``async_sandbox`` (a Sandbox on the test's own event loop), and
``make_user`` / ``make_project`` factories.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@dataclass(frozen=True)
class Received:
    """One webhook delivery as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: Any


class HookReceiver:
    """A tiny HTTP server on 127.0.0.1 that records webhook deliveries."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[Received] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                receiver.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                """Stay quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )

    def __enter__(self) -> HookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def events(self, header: str) -> list[Received]:
        """Return the deliveries whose X-Gitlab-Event is ``header``."""
        return [r for r in self.received if r.headers.get("X-Gitlab-Event") == header]


@pytest.fixture
def hook_receiver() -> Iterator[HookReceiver]:
    """A running webhook receiver for one test."""
    with HookReceiver() as receiver:
        yield receiver


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
