"""The end-to-end world: a seeded sandbox and the bot serving it.

Used by the e2e fixtures (tests/e2e/conftest.py) and by bench/bench_gate.py.

People: ``gitops-bot`` (maintainer, the only writer), ``alice`` and ``bob``
(developers in platform/sre), ``mallory`` (developer outside SRE), ``maria``
(maintainer outside SRE) and ``eve`` (guest). The GitOps project holds one
Kustomize overlay per environment and a ``.gitlab-ci.yml`` whose merge
request pipelines run one job, ``integration-test`` (see ``World``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import gitlab
from aiohttp.test_utils import TestServer

from bot import sweep
from bot.config import Config, parse_config
from bot.gate.execute import MergeGate
from bot.gitlab import RetryPolicy
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client, create_user
from bot.server.app import create_app
from tests.e2e.world import RESULT_VARIABLE, WEB_TOKEN, World, no_pause
from tests.gitlab.world import FAST_RETRIES, Control, adapter, close_with

DATA = Path(__file__).resolve().parent.parent / "data" / "e2e"
WEBHOOK_SECRET = "whsec-e2e-0d9c1b7a"
ENVIRONMENTS = ("staging", "production", "qa", "canary")
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
images:
  - name: registry.example.com/shop/web
    newTag: v1.0.0
"""
GITOPS_CI = f"""\
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
integration-test:
  stage: test
  script:
    - grep -h "newTag:" apps/web/*/kustomization.yaml
    - test "${RESULT_VARIABLE}" != fail
"""
LEVELS = {
    "gitops-bot": 40, "alice": 30, "bob": 30, "mallory": 30, "maria": 40, "eve": 10
}  # fmt: skip


def e2e_config(
    url: str,
    sweep_interval_seconds: int = 3600,
    auto_promote: bool = False,
    merge_method: str = "bot",
) -> Config:
    """The e2e configuration pointed at ``url``."""
    text = (
        (DATA / "bot.yaml")
        .read_text()
        .replace(
            "sweep_interval_seconds: 3600",
            f"sweep_interval_seconds: {sweep_interval_seconds}",
        )
        .replace("auto_promote: false", f"auto_promote: {str(auto_promote).lower()}")
        .replace("  staging:\n", f"  staging:\n    merge_method: {merge_method}\n")
    )
    return parse_config(text, str(DATA / "bot.yaml"), {"GITOPS_BOT_GITLAB_URL": url})


def _people(gl: gitlab.Gitlab) -> dict[str, tuple[Any, str]]:
    """Every user of the world, with a personal access token each."""
    return {name: create_user(gl, name) for name in LEVELS}


def _seed(gl: gitlab.Gitlab, people: dict[str, tuple[Any, str]]) -> Any:
    """The GitOps project, its pipeline, the platform/sre group, memberships."""
    platform = gl.groups.create(
        {"name": "platform", "path": "platform", "visibility": "public"}
    )
    sre = gl.groups.create(
        {"name": "sre", "path": "sre", "parent_id": platform.id, "visibility": "public"}
    )
    for name in ("alice", "bob"):
        sre.members.create({"user_id": people[name][0].id, "access_level": 30})

    project = gl.projects.create(
        {"name": "gitops", "initialize_with_readme": True, "visibility": "public"}
    )
    files = {f"apps/web/{env}/kustomization.yaml": KUSTOMIZATION
             for env in ENVIRONMENTS}  # fmt: skip
    files[".gitlab-ci.yml"] = GITOPS_CI
    project.commits.create(
        {
            "branch": "main",
            "commit_message": "Seed",
            "actions": [
                {"action": "create", "file_path": path, "content": text}
                for path, text in files.items()
            ],
        }
    )
    project.variables.create({"key": RESULT_VARIABLE, "value": "pass"})
    for name, level in LEVELS.items():
        project.members.create({"user_id": people[name][0].id, "access_level": level})
    return project


MakeWorld = Callable[..., Awaitable[World]]


@contextlib.asynccontextmanager
async def worlds() -> AsyncIterator[MakeWorld]:
    """Factory of worlds, all stopped on exit; ``retry_deadline_seconds``
    shortens the bot's retries, ``tier`` is the sandbox's GitLab tier
    (``premium``: scoped labels and approval rules), the other options go to
    ``e2e_config``."""
    started: list[Any] = []

    async def make(
        retry_deadline_seconds: float | None = None,
        tier: str = "premium",
        **options: Any,
    ) -> World:
        sandbox = SandboxThread(tier=tier)
        sandbox.start()
        started.append(sandbox)
        gl = client(sandbox, sandbox.root_token)
        people = await asyncio.to_thread(_people, gl)
        project = await asyncio.to_thread(_seed, gl, people)

        config = e2e_config(sandbox.url, **options)
        policy = FAST_RETRIES
        if retry_deadline_seconds is not None:
            policy = RetryPolicy(retry_deadline_seconds, 0.01, 0.05)
        bot_token = people["gitops-bot"][1]
        bot_gitlab = adapter(
            sandbox.url, bot_token, config.gitlab.project, policy=policy
        )
        gate = MergeGate(sleep=no_pause)
        environ = {
            "E2E_GITLAB_TOKEN": bot_token,
            "E2E_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "E2E_WEB_TOKEN": WEB_TOKEN,
        }
        bot_app = create_app(
            config, gitlab=bot_gitlab, environ=environ, routers=sweep.routers(gate)
        )
        close_with(bot_app, bot_gitlab)
        server = TestServer(bot_app, host="127.0.0.1")
        await server.start_server()
        started.append(server)
        bot_url = f"http://127.0.0.1:{server.port}"
        await asyncio.to_thread(_add_hook, project, bot_url)

        clients = {name: client(sandbox, token) for name, (_, token) in people.items()}
        return World(
            sandbox=sandbox,
            gl=gl,
            project=project,
            people=clients,
            bot_app=bot_app,
            bot_url=bot_url,
            control=Control(sandbox.url, sandbox.root_token),
            bot_user_id=people["gitops-bot"][0].id,
            gate=gate,
            bot_server=server,
        )

    try:
        yield make
    finally:
        for item in reversed(started):
            if isinstance(item, TestServer):
                await item.close()
            else:
                await asyncio.to_thread(item.stop)


def _add_hook(project: Any, bot_url: str) -> None:
    """The project webhook to the bot, with the events it handles."""
    project.hooks.create(
        {
            "url": f"{bot_url}/webhooks/gitlab",
            "token": WEBHOOK_SECRET,
            "push_events": False,
            "merge_requests_events": True,
            "note_events": True,
            "pipeline_events": True,
            "emoji_events": True,
        }
    )
