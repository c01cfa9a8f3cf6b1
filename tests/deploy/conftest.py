"""Fixtures of the deploy tests: the configuration and the GitOps files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, parse_config
from bot.deploy import DeployRequest, DeployResult, KeyedLocks, deploy
from bot.gitlab import GitLab
from bot.sandbox.server import SandboxThread
from tests.gitlab.world import Control, adapter, seed_project

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


@pytest.fixture
def project(gl: Any) -> Any:
    """The GitOps project in the sandbox."""
    return seed_project(gl, "gitops", gitops_files())


@pytest.fixture
def control(sandbox: SandboxThread) -> Control:
    """Faults and the request log of the sandbox."""
    return Control(sandbox.url, sandbox.root_token)


@pytest.fixture
def live_config(sandbox: SandboxThread, project: Any) -> Config:
    """The configuration pointed at the sandbox's GitOps project."""
    config = load_test_config(sandbox.url)
    return with_gitlab(config, project=project.path_with_namespace)


def with_gitlab(config: Config, **fields: Any) -> Config:
    """``config`` with the ``gitlab`` section's ``fields`` replaced."""
    gitlab = config.gitlab.model_copy(update=fields)
    return config.model_copy(update={"gitlab": gitlab})


class Deployer:
    """Runs deploy requests the way the server does: one adapter, one lock map."""

    def __init__(self, config: Config, gitlab: GitLab) -> None:
        self.config, self.gitlab, self.locks = config, gitlab, KeyedLocks()

    async def __call__(self, tag: str | None = "v1.3.0", **fields: Any) -> DeployResult:
        """Deploy ``tag`` of web to staging, or what ``fields`` say."""
        fields = {"app": "web", "environment": "staging", "tag": tag, **fields}
        request = DeployRequest(**fields)
        return await deploy(
            request, config=self.config, gitlab=self.gitlab, locks=self.locks
        )


@pytest.fixture
async def run(sandbox: SandboxThread, live_config: Config) -> AsyncIterator[Deployer]:
    """A deployer on the sandbox, with fast retries."""
    client = adapter(sandbox.url, sandbox.root_token, live_config.gitlab.project)
    yield Deployer(live_config, client)
    client.close()
