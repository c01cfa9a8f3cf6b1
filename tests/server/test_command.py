"""``gitops-bot serve``: secrets checked at start, then a real listening server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.server.app import create_app
from bot.server.command import CannotListen, serve
from tests.server.conftest import DATA, NOBODY, SECRETS, server_config

CONFIG = DATA / "bot.yaml"


def test_missing_secret_fails_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the webhook secret the server does not start: exit 2, the name."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SERVER_TEST_WEBHOOK_SECRET")
    assert main(["serve", "--config", str(CONFIG)]) == 2
    error = capsys.readouterr().err
    assert "SERVER_TEST_WEBHOOK_SECRET is not set or empty" in error


def test_every_missing_secret_is_named_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no secret set, one line names all three variables, no values."""
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--config", str(CONFIG)]) == 2

    assert capsys.readouterr().err == (
        "gitops-bot serve: 3 environment variables are not set or empty: "
        "SERVER_TEST_GITLAB_TOKEN (the GitLab token, named by gitlab.token_env); "
        "SERVER_TEST_WEBHOOK_SECRET (the webhook secret, named by "
        "server.webhook_secret_env); SERVER_TEST_WEB_TOKEN (the static token of "
        "shop/web, named by server.static_tokens[0].token_env)\n"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.status, json.loads(answer.read())


def test_serve_answers_healthz_and_logs_json(tmp_path: Path) -> None:
    """The installed command serves /healthz and writes JSON log lines."""
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--config", str(CONFIG),
         "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **SECRETS},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        answer = _wait_for(f"http://127.0.0.1:{port}/healthz", server)
        assert answer == (200, {"status": "ok"})
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    lines = (tmp_path / "server.log").read_text().splitlines()
    events = [json.loads(line)["event"] for line in lines if line.startswith("{")]
    assert "server_starting" in events and "http_request" in events
    for secret in SECRETS.values():
        assert secret not in "\n".join(lines)


def _wait_for(url: str, server: subprocess.Popen) -> tuple[int, dict]:
    deadline = time.monotonic() + 30
    while True:
        try:
            return _get(url)
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port somebody else listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


async def test_busy_port_or_bad_host_cannot_listen(busy_port: int) -> None:
    """A port in use or a host that is no address: CannotListen, in words."""
    app = create_app(server_config(NOBODY), environ=SECRETS)
    with pytest.raises(CannotListen) as refused:
        await serve(app, "127.0.0.1", busy_port)
    assert str(refused.value) == (
        f"cannot listen on 127.0.0.1:{busy_port}: address already in use"
    )

    app = create_app(server_config(NOBODY), environ=SECRETS)
    with pytest.raises(CannotListen) as refused:
        await serve(app, "999.1.1.1", 8080)
    assert str(refused.value).startswith(
        "cannot listen on 999.1.1.1:8080: unknown host ("
    )


def test_serve_on_a_busy_port_exits_2_with_one_line(busy_port: int) -> None:
    """The command on a busy port: exit 2, the reason on one line, no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--config", str(CONFIG),
         "--host", "127.0.0.1", "--port", str(busy_port)],
        env={**os.environ, **SECRETS},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"gitops-bot serve: cannot listen on 127.0.0.1:{busy_port}: "
        "address already in use"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--port", "99999"], "argument --port: 99999 is not in 1-65535"),
        (["serve", "--port", "0"], "argument --port: 0 is not in 1-65535"),
        (["sandbox", "--port", "65536"], "argument --port: 65536 is not in 0-65535"),
        (["sandbox", "--port", "x"], "argument --port: not a port number: 'x'"),
    ],
)
def test_port_out_of_range_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """A port outside 1-65535 (0 too for sandbox) exits 2 before anything runs."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(message)
