"""`gitops-bot sandbox` prints one line with its URL and stops on SIGTERM;
a --data it cannot use stops it at start with one line and exit 2."""

from __future__ import annotations

import signal
import subprocess
import sys

import gitlab
import pytest

from bot.cli import main


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


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON: Expecting property name enclosed in "
         "double quotes at line 1 column 2"),
        ("[]", "is not a sandbox state: expected a JSON object, found a list"),
        ('{"version": 1, "counters": {}, "tables": {"users": [{"id": 1}]}}',
         'is not a sandbox state: row 1 of table "users" lacks username, name, '
         "email"),
    ],
)  # fmt: skip
def test_an_unreadable_state_file_stops_the_command_and_is_kept(
    tmp_path, capsys: pytest.CaptureFixture[str], content: str, problem: str
) -> None:
    """A corrupt state.json: exit 2, one line naming the file and the problem;
    the file is neither rewritten nor removed, and nothing else is written."""
    data = tmp_path / "badstate"
    data.mkdir()
    (data / "state.json").write_text(content)

    status = main(["sandbox", "--port", "0", "--data", str(data)])

    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err == (
        f"gitops-bot sandbox: {data / 'state.json'} {problem}; the file was left "
        "as it is: fix it, or move it away to start with an empty sandbox\n"
    )
    assert (data / "state.json").read_text() == content
    assert [p.name for p in data.iterdir()] == ["state.json"]


@pytest.mark.parametrize("extra", [[], ["--seed"]])
def test_a_file_as_data_directory_stops_the_command(
    tmp_path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    """--data naming a regular file: exit 2 saying so; the file is untouched."""
    given = tmp_path / "some-file.yaml"
    given.write_text("kind: Config\n")

    status = main(["sandbox", "--port", "0", "--data", str(given), *extra])

    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err == (
        f"gitops-bot sandbox: data directory {given} is a file, not a directory\n"
    )
    assert given.read_text() == "kind: Config\n"
    assert [p.name for p in tmp_path.iterdir()] == ["some-file.yaml"]
