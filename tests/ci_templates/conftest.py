"""The service CI world (sandbox, GitOps project, bot) for the template tests."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT
from tests.service_ci.conftest import job_path, world

TEMPLATES = ROOT / "config" / "gitlab-ci"

__all__ = ["TEMPLATES", "job_path", "template", "world"]


def template(name: str) -> str:
    """The text of ``config/gitlab-ci/<name>``, exactly as shipped."""
    return (Path(TEMPLATES) / name).read_text()
