"""Fixtures of the deploy tests: the configuration and the GitOps files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config, parse_config

DATA = Path(__file__).resolve().parent.parent / "data" / "deploy"

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
images:
  - name: registry.example.com/shop/web
    newTag: v1.2.0  # managed by gitops-bot
"""

VALUES = """\
replicaCount: 2
image:
  repository: registry.example.com/shop/{app}
  tag: v1.2.0
resources: {{}}
"""


def load_test_config(url: str = "http://127.0.0.1:1") -> Config:
    """The deploy tests' configuration, pointed at ``url``."""
    text = (DATA / "bot.yaml").read_text()
    return parse_config(text, str(DATA / "bot.yaml"), {"GITOPS_BOT_GITLAB_URL": url})


def gitops_files() -> dict[str, str]:
    """The GitOps repository the tests start from: two apps, two environments."""
    files = {"README.md": "# GitOps\n"}
    for env in ("staging", "production"):
        files[f"apps/web/{env}/kustomization.yaml"] = KUSTOMIZATION
        files[f"charts/web/values-{env}.yaml"] = VALUES.format(app="web")
    files["apps/my.app/values-staging.yaml"] = VALUES.format(app="api")
    return files


@pytest.fixture
def config() -> Config:
    """The configuration, with a GitLab URL nobody listens on."""
    return load_test_config()
