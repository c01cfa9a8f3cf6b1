"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["bot.sandbox.testing"]

ROOT = Path(__file__).resolve().parent.parent
# CI lays ../shared beside the checkout; a user's clone has none.
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
GITLAB_FIXTURES = SHARED / "fixtures" / "gitlab"


def require_shared(path: Path) -> Path:
    """Return ``path``, or skip the test when ../shared is not beside the checkout."""
    if not path.exists():
        pytest.skip(
            f"{path} is absent: the shared corpus and GitLab fixtures only exist "
            "beside the CI checkout; the project's own fixtures cover the behaviour"
        )
    return path
