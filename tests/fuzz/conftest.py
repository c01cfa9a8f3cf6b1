"""The deploy API on loopback, backed by the offline GitLab, for fuzzing.

Schemathesis calls the server with ``requests`` from the test's thread, so
the bot cannot run on a loop that the test blocks: it runs on the
sandbox's loop, in the sandbox's thread. Its GitLab calls leave that loop
for worker threads (python-gitlab), so the two never wait on each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from bot.config import parse_config
from bot.jobs import connect
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client, create_user
from bot.server.app import create_app
from tests.gitlab.world import close_with, seed_project

CONFIG = Path(__file__).with_name("bot.yaml")
STATIC_TOKEN = "static-fuzz-token-6c2d"
SECRETS = {"FUZZ_WEBHOOK_SECRET": "whsec-fuzz-1e0b", "FUZZ_STATIC_TOKEN": STATIC_TOKEN}
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
  - name: registry.example.com/my-org/my-app
    newTag: v1.4.0
"""
VALUES = "image:\n  repository: registry.example.com/my-org/other\n  tag: v1.0.0\n"


@dataclass(frozen=True)
class DeployApi:
    """Where the bot listens, and the headers of an authenticated caller."""

    url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def deploy_api() -> Iterator[DeployApi]:
    """The bot serving on loopback; GitLab: a seeded ``root/gitops``."""
    sandbox = SandboxThread()
    sandbox.start()
    try:
        token = _seed(sandbox)
        runner = sandbox.run(_start(sandbox.url, token))
        port = runner.addresses[0][1]
        yield DeployApi(
            f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {STATIC_TOKEN}"}
        )
        sandbox.run(runner.cleanup())
    finally:
        sandbox.stop()


def _seed(sandbox: SandboxThread) -> str:
    """The GitOps project with both apps' manifests; return the bot's token."""
    root = client(sandbox, sandbox.root_token)
    _, token = create_user(root, "gitops-bot")
    files = {
        "apps/staging/my-app/kustomization.yaml": KUSTOMIZATION,
        "apps/production/my-app/kustomization.yaml": KUSTOMIZATION,
        "apps/staging/other/values.yaml": VALUES,
    }
    project = seed_project(root, "gitops", files)
    bot = root.users.list(username="gitops-bot")[0]
    project.members.create({"user_id": bot.id, "access_level": 40})
    return token


async def _start(url: str, token: str) -> web.AppRunner:
    config = parse_config(
        CONFIG.read_text(), str(CONFIG), {"GITOPS_BOT_GITLAB_URL": url}
    )
    gitlab = connect(config, token)
    environ = {**SECRETS, "FUZZ_GITLAB_TOKEN": token}
    app = create_app(config, gitlab=gitlab, routers=[], environ=environ)
    close_with(app, gitlab)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner
