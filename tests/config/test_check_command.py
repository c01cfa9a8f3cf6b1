"""``gitops-bot check-config [F]`` through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.config.documents import app_doc
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "config"


def test_valid_file_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """A valid file exits 0 with one row per app, environment and manifest."""
    status = main(["check-config", str(ROOT / "config" / "bot.yaml")])
    out, err = capsys.readouterr()
    lines = out.splitlines()

    assert status == 0
    assert err == ""
    assert lines[0] == f"{ROOT / 'config' / 'bot.yaml'}: valid, 3 apps, 2 environments"
    assert lines[1] == (
        "GitOps project platform/gitops on https://gitlab.example.com, "
        "target branch main"
    )
    header = next(line for line in lines if line.startswith("APP "))
    assert header.split() == ["APP", "ENV", "APPROVALS", "MERGE", "LABELS", "MANIFESTS"]

    rows = [" ".join(line.split()) for line in lines[lines.index(header) + 1 :]]
    assert rows[0] == (
        "my-app staging none auto (bot); promote -> production env::staging "
        "apps/staging/my-app/kustomization.yaml (auto)"
    )
    assert rows[1] == "charts/my-app/values-staging.yaml (auto, key image.tag)"
    assert rows[2].startswith(
        "my-app production 2 of platform/sre (maintainer+) auto (bot); after "
        "integration-test; windows env::production"
    )
    assert len(rows) == 8


def test_summary_of_a_minimal_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Environments without labels or approvals show '-' and 'none'."""
    path = tmp_path / "bot.yaml"
    path.write_text(
        app_doc(
            manifests='[{path: "{env}/w.yaml", kind: flux, policy: "flux-system:web"}]'
        )
    )

    assert main(["check-config", str(path)]) == 0
    rows = capsys.readouterr().out.splitlines()[-2:]

    assert [" ".join(row.split()) for row in rows] == [
        "web staging none auto (bot) - staging/w.yaml (flux, policy flux-system:web)",
        "web production none auto (bot) - production/w.yaml (flux, policy "
        "flux-system:web)",
    ]


def test_invalid_file_prints_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid file exits 2 and prints each problem and a count on stderr."""
    path = DATA / "broken.yaml"
    status = main(["check-config", str(path)])
    out, err = capsys.readouterr()

    assert status == 2
    assert out == ""
    assert err.splitlines() == [
        f"{path}:6: environments.staging.approvals.required: expected an integer "
        "from 0 to 100, got 'two'",
        f"{path}:11: apps.web.environments[1]: expected an environment defined "
        "under environments (staging), got 'qa'",
        f"{path}:12: apps.web.manifests: expected at least one item, got an empty list",
        f"{path}: 3 problems",
    ]


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file exits 2 with one problem."""
    path = tmp_path / "absent.yaml"
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"{path}: 1 problem"


def test_file_from_the_variable(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without F, check-config reads the file GITOPS_BOT_CONFIG names."""
    path = tmp_path / "named.yaml"
    path.write_text(app_doc())
    monkeypatch.setenv("GITOPS_BOT_CONFIG", str(path))

    assert main(["check-config"]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: valid, 1 app, 2 environments")


@pytest.mark.parametrize(
    ("config", "redirect"),
    [
        (ROOT / "config" / "bot.yaml", "stdout"),
        (DATA / "broken.yaml", "stderr"),
    ],
)
def test_a_reader_that_left_stops_the_output_quietly(
    config: Path, redirect: str
) -> None:
    """Writing into a closed pipe (``| head -1``) exits 141 without a traceback."""
    reader, writer = os.pipe()
    os.close(reader)  # the reader has gone before the first write
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    streams[redirect] = writer
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "check-config", str(config)],
            cwd=ROOT,
            text=True,
            check=False,
            **streams,
        )
    finally:
        os.close(writer)

    assert done.returncode == 141
    assert (done.stdout or "") == ""
    assert (done.stderr or "") == ""
