"""``gitops-bot serve``: secrets checked at start, then a real listening server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.cli import main
from tests.server.conftest import DATA, SECRETS

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
