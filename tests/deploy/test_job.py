"""``gitops-bot deploy`` through ``bot.cli.main``: output and exit statuses."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.jobs import NotMerged, wait_for_merge
from bot.sandbox.server import SandboxThread
from tests.deploy.conftest import DATA, Deployer
from tests.gitlab.world import Control, adapter


@pytest.fixture
def job(
    sandbox: SandboxThread,
    project: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    """The start of a deploy command line; token and URL in the environment."""
    config = tmp_path / "bot.yaml"
    text = (DATA / "bot.yaml").read_text()
    config.write_text(text.replace("platform/gitops", project.path_with_namespace))
    monkeypatch.setenv("GITOPS_TEST_TOKEN", sandbox.root_token)
    monkeypatch.setenv("GITOPS_BOT_GITLAB_URL", sandbox.url)
    monkeypatch.delenv("CI_PIPELINE_URL", raising=False)
    return ["deploy", "--config", str(config), "--app", "web", "--env", "staging"]


def test_json_result(job: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the result object; the exit status is 0."""
    assert main([*job, "--tag", "v1.3.0", "--json"]) == 0

    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "opened" and result["branch"] == "gitops/staging/web"
    assert (result["previous_tag"], result["tag"]) == ("v1.2.0", "v1.3.0")
    assert result["target_branch"] == "main"
    assert result["merge_request"]["iid"] == 1 and len(result["commit"]) == 40


def test_prints_the_merge_request_url(
    job: list[str], project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --json the job prints the merge request's URL, and only that."""
    assert main([*job, "--tag", "v1.3.0"]) == 0

    assert capsys.readouterr().out.strip() == project.mergerequests.get(1).web_url


def test_already_deployed_names_the_tag_and_branch(
    job: list[str], control: Control, capsys: pytest.CaptureFixture[str]
) -> None:
    """The target already runs the tag: one line saying so, nothing written."""
    control.clear_log()
    assert main([*job, "--tag", "v1.2.0"]) == 0

    assert capsys.readouterr().out == "unchanged: v1.2.0 is already on main\n"
    assert control.writes() == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tag", "v1.3.0 "], "invalid tag 'v1.3.0 '"),
        (["--tag", "v1.1.0"], "tag v1.1.0 is older than v1.2.0 deployed"),
        (["--tag", "v1.3.0", "--app", "nope"], "unknown app 'nope'"),
    ],
)
def test_refusals_exit_2_and_write_nothing(
    job: list[str],
    control: Control,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    """Refused input or policy: exit 2, one line on stderr, no write to GitLab."""
    control.clear_log()
    assert main([*job, *extra]) == 2

    error = capsys.readouterr().err
    assert error.startswith("gitops-bot deploy: ") and message in error
    assert control.writes() == []


def test_missing_token_exits_2(
    job: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No token in the environment: exit 2 naming the variable."""
    monkeypatch.delenv("GITOPS_TEST_TOKEN")
    assert main([*job, "--tag", "v1.3.0"]) == 2
    assert "GITOPS_TEST_TOKEN" in capsys.readouterr().err


def test_gitlab_refusal_exits_1(
    job: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token GitLab rejects: exit 1 with the step and GitLab's answer."""
    monkeypatch.setenv("GITOPS_TEST_TOKEN", "glpat-wrong")
    assert main([*job, "--tag", "v1.3.0"]) == 1

    error = capsys.readouterr().err
    assert "GitLab answered 401" in error and "glpat-wrong" not in error


def test_gitlab_down_logs_each_attempt_once_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens at gitlab.url: one JSON info line per attempt (stderr is
    not a terminal) with route and status, no warning, no URL; then exit 1
    with one line saying what failed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "bot.yaml"
    text = (DATA / "bot.yaml").read_text()
    config.write_text(
        text.replace("retry_deadline_seconds: 20", "retry_deadline_seconds: 1")
    )
    monkeypatch.setenv("GITOPS_TEST_TOKEN", "glpat-unused")
    monkeypatch.setenv("GITOPS_BOT_GITLAB_URL", f"http://127.0.0.1:{port}")

    argv = ["deploy", "--config", str(config), "--app", "web", "--env", "staging"]
    assert main([*argv, "--tag", "v1.3.0"]) == 1

    out, err = capsys.readouterr()
    *attempts, last = err.splitlines()
    assert out == "" and attempts
    for line in attempts:
        event = json.loads(line)
        assert (event["level"], event["event"]) == ("info", "gitlab call failed")
        assert event["route"].startswith("GET /projects/:id/"), line
        assert (event["status"], event["environment"]) == ("no-answer", "staging")
    assert "/api/v4" not in err and "warning" not in err
    assert last.startswith("gitops-bot deploy: fetch_")
    assert last.endswith(
        f"GitLab answered nothing: ConnectionError: HTTPConnection(host='127.0.0.1', "
        f"port={port}): Failed to establish a new connection: [Errno 111] "
        "Connection refused (still failing at the retry deadline)"
    )


def test_dry_run_prints_the_diff(
    job: list[str], control: Control, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run prints the diff and writes nothing."""
    control.clear_log()
    assert main([*job, "--tag", "v1.3.0", "--dry-run"]) == 0

    assert "+  tag: v1.3.0" in capsys.readouterr().out
    assert control.writes() == []


def test_dry_run_json_says_what_it_would_do(
    job: list[str], control: Control, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run --json answers status dry_run and would open; nothing written."""
    control.clear_log()
    assert main([*job, "--tag", "v1.3.0", "--dry-run", "--json"]) == 0

    result = json.loads(capsys.readouterr().out)
    assert (result["status"], result["would"], result["merge_request"]) == (
        "dry_run",
        "open",
        None,
    )
    assert control.writes() == []


async def test_wait_for_merge(sandbox: SandboxThread, project: Any) -> None:
    """Waiting ends when the MR is merged, and fails when it is closed."""
    client = adapter(sandbox.url, sandbox.root_token, project.path_with_namespace)
    main_sha = project.branches.get("main").commit["id"]
    for name in ("merged", "closed"):
        project.branches.create({"branch": name, "ref": main_sha})
        project.commits.create(
            {"branch": name, "commit_message": name,
             "actions": [{"action": "create", "file_path": name, "content": "x"}]}
        )  # fmt: skip
    merged = project.mergerequests.create(
        {"source_branch": "merged", "target_branch": "main", "title": "m"}
    )
    closed = project.mergerequests.create(
        {"source_branch": "closed", "target_branch": "main", "title": "c"}
    )
    merged.merge()
    closed.state_event = "close"
    closed.save()

    await wait_for_merge(client, merged.iid, timeout=5, interval=0.01)
    with pytest.raises(NotMerged, match=f"!{closed.iid} was closed without a merge"):
        await wait_for_merge(client, closed.iid, timeout=5, interval=0.01)


async def test_wait_for_merge_fails_once_a_newer_tag_supersedes_ours(
    run: Deployer, sandbox: SandboxThread, project: Any
) -> None:
    """v1.3.0 opens the MR, v1.4.0 rewrites it: waiting for v1.3.0 fails at
    once while it is open, and still fails once it merged with v1.4.0; waiting
    for v1.4.0 (or its digest-less request) ends with the merge."""
    client = adapter(sandbox.url, sandbox.root_token, project.path_with_namespace)
    ours = await run("v1.3.0")
    await run("v1.4.0")
    iid = ours.merge_request.iid

    with pytest.raises(NotMerged, match=f"superseded: !{iid} now proposes v1.4.0"):
        await wait_for_merge(client, iid, timeout=5, interval=0.01, tag="v1.3.0")
    project.mergerequests.get(iid).merge()
    with pytest.raises(NotMerged, match="not v1.3.0 \\(and was merged with it\\)"):
        await wait_for_merge(client, iid, timeout=5, interval=0.01, tag="v1.3.0")
    await wait_for_merge(client, iid, timeout=5, interval=0.01, tag="v1.4.0")
    client.close()


@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "inf"])
def test_a_timeout_that_is_not_positive_is_refused_before_anything_runs(
    job: list[str],
    control: Control,
    capsys: pytest.CaptureFixture[str],
    timeout: str,
) -> None:
    """--timeout must be a positive, finite number: exit 2, no write to GitLab."""
    control.clear_log()

    with pytest.raises(SystemExit) as exit_info:
        main([*job, "--tag", "v1.3.0", "--wait", "merged", "--timeout", timeout])

    assert exit_info.value.code == 2
    assert (
        "gitops-bot deploy: error: argument --timeout: must be a positive number "
        f"of seconds, got {timeout}\n"
    ) in capsys.readouterr().err
    assert control.writes() == []
