"""`gitops-bot sandbox --seed`: the demo's world, bot.yaml, and how to serve."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from pathlib import Path

import gitlab

from bot.config import parse_config


def _start(data: Path) -> tuple[subprocess.Popen[str], list[str]]:
    """Run the seeding sandbox; return it and its lines up to the serve command."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", "0", "--seed"]
        + ["--data", str(data)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if "gitops-bot serve" in line or not line:
            break
    return process, lines


def _exports(lines: list[str]) -> dict[str, str]:
    """The ``export NAME=value`` lines as a mapping."""
    pairs = [
        shlex.split(line)[1] for line in lines if line.strip().startswith("export")
    ]
    return dict(pair.split("=", 1) for pair in pairs)


def test_seed_prints_the_tokens_config_and_serve_command(tmp_path: Path) -> None:
    """The seeded world answers python-gitlab; bot.yaml loads with the exports."""
    process, lines = _start(tmp_path)
    try:
        variables = _exports(lines)
        url = variables["GITLAB_URL"]
        config_path = tmp_path / "bot.yaml"

        assert lines[2] == f"Bot configuration: {config_path}"
        assert lines[-1] == (
            f"  gitops-bot serve --config {config_path} --host 127.0.0.1 --port 8080"
        )
        config = parse_config(config_path.read_text(), str(config_path), environ={})
        assert (config.gitlab.url, config.gitlab.project) == (url, "platform/gitops")
        assert config.gitlab.token_env == "GITOPS_BOT_DEMO_TOKEN"

        bot = gitlab.Gitlab(url, private_token=variables["GITOPS_BOT_DEMO_TOKEN"])
        bot.auth()
        assert bot.user.username == "gitops-bot"
        alice = gitlab.Gitlab(url, private_token=variables["ALICE_TOKEN"])
        alice.auth()
        assert alice.user.username == "alice"

        root = gitlab.Gitlab(url, private_token=variables["GITLAB_ROOT_TOKEN"])
        gitops = root.projects.get("platform/gitops")
        (hook,) = gitops.hooks.list(get_all=True)
        assert hook.url == "http://127.0.0.1:8080/webhooks/gitlab"
        assert hook.merge_requests_events and hook.pipeline_events
        assert hook.note_events and not hook.push_events
        assert gitops.files.get("apps/staging/my-app/kustomization.yaml", "main")
        assert root.projects.get("my-org/my-app").path_with_namespace
        sre = root.groups.get("platform/sre")
        assert {m.username for m in sre.members.list(get_all=True)} >= {
            "alice",
            "bob",
        }
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=20)

    assert status == 0


def test_seed_refuses_a_data_directory_seeded_before(tmp_path: Path) -> None:
    """A second --seed on the same --data exits 2 before listening; nothing lost."""
    (tmp_path / "bot.yaml").write_text("kept\n")

    done = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--port", "0", "--seed"]
        + ["--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"gitops-bot sandbox: {tmp_path / 'bot.yaml'} exists: this data directory "
        "is seeded already; run without --seed to reuse it, or give a new --data "
        "directory\n"
    )
    assert (tmp_path / "bot.yaml").read_text() == "kept\n"
