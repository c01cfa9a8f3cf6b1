"""Running a sandbox: ``Sandbox`` (async context manager) and ``SandboxThread``
(the same in a background thread with its own event loop, for synchronous
clients such as python-gitlab)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from bot.errors import InvalidInput
from bot.sandbox.app import SandboxState, create_app
from bot.sandbox.records import register_core_tables
from bot.sandbox.routes.users import create_token, create_user
from bot.sandbox.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

ROOT_USERNAME = "root"
ROOT_TOKEN_NAME = "sandbox-root"
STATE_FILE = "state.json"
TIERS = ("free", "premium")


def ensure_root(state: SandboxState, token: str | None) -> str:
    """Create the administrator ``root`` if absent; return its token in use.

    A given ``token`` becomes one of root's PATs (earlier ones keep working).
    Without one, the latest sandbox-root token still valid is reused, so a
    restart on the same data directory keeps the token printed before; a
    new one is made only when there is none.
    """
    root = next(
        (u for u in state.store.rows("users") if u.username == ROOT_USERNAME), None
    )
    if root is None:
        root = create_user(
            state, ROOT_USERNAME, "Administrator", "admin@example.com", is_admin=True
        )
    tokens = state.store.find("tokens", user_id=root.id)
    if token is None:
        usable = [t for t in tokens if t.name == ROOT_TOKEN_NAME and not t.revoked]
        if usable:
            return usable[-1].token
    elif token in {t.token for t in tokens}:
        return token
    created = create_token(
        state, root, ROOT_TOKEN_NAME, ["api", "sudo", "admin_mode"], token=token
    )
    return created.token


def ensure_data_dir(path: Path) -> None:
    """Create the data directory ``path`` if absent; refuse a file there."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InvalidInput(
            f"data directory {path} is a file, not a directory"
        ) from None
    except OSError as error:
        raise InvalidInput(
            f"cannot create the data directory {path}: {error.strerror or error}"
        ) from error


class Sandbox:
    """An offline GitLab on ``host``:``port`` (0: free port), data in ``data_dir``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path | str | None = None,
        root_token: str | None = None,
        tier: str = "premium",
    ) -> None:
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
        self.host, self.port, self.tier = host, port, tier
        self.data_dir = Path(data_dir) if data_dir is not None else None
        # Given, or known once started (the stored one, else a new one).
        self.root_token = root_token or ""
        self.url = ""
        self.state: SandboxState | None = None
        self._runner: web.AppRunner | None = None
        self._temporary: str | None = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Load or create the state, then listen.

        Raises:
            InvalidInput: the data directory is a file or cannot be created.
            UnreadableState: its state file is not one the sandbox wrote.
        """
        if self.data_dir is None:
            self._temporary = tempfile.mkdtemp(prefix="gitlab-sandbox-")
            self.data_dir = Path(self._temporary)
        ensure_data_dir(self.data_dir)
        store = Store(self.data_dir / STATE_FILE)
        register_core_tables(store)
        state = SandboxState(store, self.data_dir / "repositories", tier=self.tier)
        self.root_token = ensure_root(state, self.root_token or None)
        app = create_app(state)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = state.base_url = f"http://{self.host}:{self.port}"
        store.save()
        self.state = state
        log.info("sandbox started", extra={"url": self.url, "tier": self.tier})

    async def stop(self) -> None:
        """Save the state, stop listening, remove a temporary data folder."""
        if self.state is not None:
            self.state.store.save()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.state is not None:
            self.state.close_repositories()
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None

    async def drain_webhooks(self) -> None:
        """Wait until every queued webhook delivery has been attempted."""
        assert self.state is not None
        await self.state.webhooks.drain()


class SandboxThread:
    """A Sandbox running its own event loop in a daemon thread."""

    def __init__(self, **options: Any) -> None:
        self.sandbox = Sandbox(**options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="gitlab-sandbox", daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>``."""
        return self.sandbox.url

    @property
    def root_token(self) -> str:
        """The administrator's personal access token."""
        return self.sandbox.root_token

    @property
    def state(self) -> SandboxState:
        """The running sandbox's state (read it through ``call`` when racing)."""
        assert self.sandbox.state is not None
        return self.sandbox.state

    def __enter__(self) -> SandboxThread:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the thread and the sandbox; return once it listens."""
        self._thread.start()
        self.run(self.sandbox.start())

    def stop(self) -> None:
        """Stop the sandbox and the thread."""
        try:
            self.run(self.sandbox.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def run(self, coroutine: Awaitable[T], timeout: float = 60.0) -> T:
        """Run ``coroutine`` on the sandbox's loop and return its result."""
        future = asyncio.run_coroutine_threadsafe(
            coroutine,  # type: ignore[arg-type]
            self._loop,
        )
        return future.result(timeout)

    def call(self, function: Callable[[], T], timeout: float = 60.0) -> T:
        """Run a plain function on the sandbox's loop thread; return its result."""
        result: Future[T] = Future()

        def invoke() -> None:
            try:
                result.set_result(function())
            except Exception as error:  # handed to the calling thread
                result.set_exception(error)

        self._loop.call_soon_threadsafe(invoke)
        return result.result(timeout)

    def drain_webhooks(self) -> None:
        """Wait until every queued webhook delivery has been attempted."""
        self.run(self.sandbox.drain_webhooks())
