"""`gitops-bot demo`, the README's first command, runs the whole life cycle."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_demo_walks_from_a_tag_to_production() -> None:
    """The demo tags a release, merges staging, then production after a hold."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "the bot opened !1: Deploy my-app v1.1.0 to staging" in out
    assert "-    newTag: v1.0.0" in out and "+    newTag: v1.1.0" in out
    assert "the bot merged !1" in out
    assert "staging promotes to production: the bot opened !2" in out
    assert "- `held`" in out
    assert "Approvals: 2 of 2 (`bob`, `alice`)" in out
    assert "the bot merged !2" in out
    assert "Done: my-app v1.1.0 went from a tag to production." in out
    assert "<!--" not in out, "hidden markers are not for the reader"
