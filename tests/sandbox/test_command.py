"""`gitops-bot sandbox` prints one line with its URL and stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import gitlab


def test_command_serves_until_sigterm(tmp_path) -> None:
    """The command prints its URL, serves the API, and exits 0 on SIGTERM."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sandbox",
            "--port",
            "0",
            "--data",
            str(tmp_path),
            "--root-token",
            "glpat-cmd",
            "--tier",
            "free",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        gl = gitlab.Gitlab(url, private_token="glpat-cmd", timeout=10)
        gl.auth()
        assert gl.user.username == "root"
        assert "glpat-cmd" not in line
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=20)

    assert status == 0
    assert (tmp_path / "state.json").exists()


def test_command_prints_a_generated_root_token(tmp_path) -> None:
    """Without --root-token the command prints the token it generated."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        token = line.rsplit("root token ", 1)[1]
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        gl = gitlab.Gitlab(url, private_token=token, timeout=10)
        gl.auth()
        assert gl.user.is_admin is True
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
