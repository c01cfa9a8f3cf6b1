"""Service CI for real: the sandbox runs tag pipelines that call the bot.

The sandbox (a ``SandboxThread``) runs each job's script in bash; the bot's
server runs in-process on its own loop thread (``BotThread``) on
127.0.0.1, so the tests stay synchronous python-gitlab code. Jobs find the
``gitops-bot`` command through PATH: the sandbox's shell executor ignores
``image:`` and hands jobs the PATH of this process, so the fixture puts the
virtualenv's bin directory first (what the bot's image does in production).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gitlab
import pytest
from aiohttp import web

from bot.config import Config, parse_config
from bot.sandbox.ci import tokens
from bot.sandbox.ci.testing import wait_for_settled_sync
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client, create_user
from bot.server.app import create_app
from tests.gitlab.world import Control

DATA = Path(__file__).resolve().parent / "data"
VENV_BIN = Path(sys.executable).parent
AUDIENCE = "gitops-bot"
APPS = ("web", "api", "my-app")
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  # gitops-bot bumps the tag line below
  - name: registry.example.com/{group}/{app}
    newTag: v1.0.0
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
spec:
  template:
    spec:
      containers:
        - name: {app}
          image: registry.example.com/{group}/{app}
"""
GROUPS = {"web": "shop", "api": "shop", "my-app": "my-org"}


def trigger_ci(app: str, *, id_token: bool = True, then: str = "") -> str:
    """A service's .gitlab-ci.yml: on tags, ``gitops-bot trigger`` for ``app``.

    With ``id_token`` the job requests an ID token for the bot's audience;
    without, ``trigger`` falls back to CI_JOB_TOKEN. ``then`` is one more
    script line (folded YAML: continuation lines indented by six spaces).
    """
    tokens = f"  id_tokens:\n    GITOPS_BOT_ID_TOKEN:\n      aud: {AUDIENCE}\n"
    extra = f"    - >\n      {then}\n" if then else ""
    return (
        "deploy:\n  rules:\n    - if: $CI_COMMIT_TAG\n"
        + (tokens if id_token else "")
        + "  script:\n"
        + f'    - gitops-bot trigger --url "$GITOPS_BOT_URL" --app {app}'
        + ' --env staging --tag "$CI_COMMIT_TAG" --timeout 20\n'
        + extra
    )


class OffsetClock:
    """``time.monotonic`` plus an offset a test moves forward ("time passes")."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        """The bot's monotonic time."""
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass for the bot."""
        self.offset += seconds


class BotThread:
    """The bot's aiohttp server on a loop of its own, on a free loopback port."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner = web.AppRunner(app)
        self.url = ""

    def start(self) -> None:
        """Serve; return once listening."""
        self._thread.start()
        self.url = self._run(self._serve())

    def stop(self) -> None:
        """Stop serving and end the thread."""
        try:
            self._run(self._runner.cleanup())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    async def _serve(self) -> str:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)


@dataclass
class World:
    """The sandbox, the GitOps project and the running bot."""

    sandbox: SandboxThread
    gl: gitlab.Gitlab
    gitops: Any
    bot_url: str
    bot_user_id: int
    control: Control
    clock: OffsetClock
    bot_token: str

    def group(self, path: str) -> Any:
        """The group ``path``, created on first use."""
        found = [g for g in self.gl.groups.list(search=path) if g.full_path == path]
        return (
            found[0] if found else self.gl.groups.create({"name": path, "path": path})
        )

    def project(self, path: str, files: dict[str, str], **variables: str) -> Any:
        """Create project ``group/name`` with ``files`` and CI/CD ``variables``."""
        namespace, name = path.rsplit("/", 1)
        project = self.gl.projects.create(
            {
                "name": name,
                "namespace_id": self.group(namespace).id,
                "initialize_with_readme": True,
            }
        )
        for key, value in variables.items():
            project.variables.create({"key": key, "value": value})
        project.commits.create(
            {
                "branch": "main",
                "commit_message": f"Set up {name}",
                "actions": [
                    {"action": "create", "file_path": file, "content": text}
                    for file, text in files.items()
                ],
            }
        )
        return project

    def tag(self, project: Any, tag: str) -> Any:
        """Push ``tag`` on main; wait for its pipeline to end and return it."""
        project.tags.create({"tag_name": tag, "ref": "main"})
        [record] = wait_for_settled_sync(self.sandbox, project.id, ref=tag)
        return project.pipelines.get(record.id)

    def bot_mrs(self, app: str, env: str = "staging") -> list[Any]:
        """The bot's merge requests for (app, env), any state, oldest first."""
        found = self.gitops.mergerequests.list(
            source_branch=f"gitops/{env}/{app}", state="all", get_all=True
        )
        return sorted(found, key=lambda mr: mr.iid)

    def gitops_writes(self) -> list[dict[str, Any]]:
        """Logged requests that could change the GitOps project."""
        mine = (f"/projects/{self.gitops.id}/", "/projects/platform%2Fgitops/")
        return [w for w in self.control.writes() if any(m in w["path"] for m in mine)]


def wait_for_mr(world: World, app: str) -> Any:
    """The bot's MR for ``app`` once it exists (polled, up to 30 s)."""
    for _ in range(600):
        if found := world.bot_mrs(app):
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no merge request for {app} after 30 s")


def job_log(project: Any, pipeline: Any, name: str | None = None) -> str:
    """The log of the pipeline's job ``name`` (its only job by default)."""
    jobs = pipeline.jobs.list(get_all=True)
    [job] = [j for j in jobs if name is None or j.name == name]
    return project.jobs.get(job.id).trace().decode(errors="replace")


def changed_lines(mr: Any) -> list[str]:
    """The added and removed lines of the merge request's diff."""
    lines = []
    for change in mr.changes()["changes"]:
        for line in change["diff"].splitlines():
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
                lines.append(line)
    return lines


def staging_labels(app: str) -> set[str]:
    """The labels of a staging MR: the bot's three, then the environment's."""
    return {"gitops-bot", f"app::{app}", "env::staging", "team::deploy"}


def tag_bump(old: str, new: str) -> list[str]:
    """The only diff lines a tag bump may have."""
    return [f"-    newTag: {old}", f"+    newTag: {new}"]


def gitops_files() -> dict[str, str]:
    """One staging overlay per app."""
    files = {}
    for app in APPS:
        values = {"app": app, "group": GROUPS[app]}
        base = f"apps/staging/{app}"
        files[f"{base}/kustomization.yaml"] = KUSTOMIZATION.format(**values)
        files[f"{base}/deployment.yaml"] = DEPLOYMENT.format(**values)
    return files


def bot_config_text(gitlab_url: str, token_env: str = "SCI_GITLAB_TOKEN") -> str:
    """The tests' bot configuration (YAML) for the sandbox at ``gitlab_url``."""
    text = (DATA / "bot.yaml").read_text()
    text = text.replace("url: http://127.0.0.1:1", f"url: {gitlab_url}")
    return text.replace("token_env: SCI_GITLAB_TOKEN", f"token_env: {token_env}")


def bot_config(gitlab_url: str) -> Config:
    """The tests' bot configuration pointed at the sandbox."""
    return parse_config(bot_config_text(gitlab_url), str(DATA / "bot.yaml"), {})


def claims_for(world: World, path: str, audience: str, now: float) -> dict[str, Any]:
    """GitLab's ID token claims for a tag job of ``path`` at time ``now``."""
    identity = tokens.JobIdentity(
        issuer=world.sandbox.url,
        project_id=1,
        project_path=path,
        namespace_id=1,
        namespace_path=path.rsplit("/", 1)[0],
        user_id=1,
        user_login="root",
        user_email="root@example.com",
        pipeline_id=1,
        pipeline_source="push",
        job_id=1,
        ref="v3.0.0",
        ref_type="tag",
        ref_protected=False,
        sha="0" * 40,
    )
    return tokens.id_token_claims(identity, audience, now=now)


def sandbox_signed(world: World, claims: dict[str, Any]) -> str:
    """``claims`` signed by the sandbox's own current CI key."""
    return world.sandbox.call(lambda: world.sandbox.state.ci.keys.sign(claims))


def _seed_gitops(world_gl: gitlab.Gitlab, bot_user_id: int) -> Any:
    platform = world_gl.groups.create({"name": "platform", "path": "platform"})
    gitops = world_gl.projects.create(
        {"name": "gitops", "namespace_id": platform.id, "initialize_with_readme": True}
    )
    gitops.members.create({"user_id": bot_user_id, "access_level": 40})
    gitops.commits.create(
        {
            "branch": "main",
            "commit_message": "Seed the overlays",
            "actions": [
                {"action": "create", "file_path": path, "content": text}
                for path, text in gitops_files().items()
            ],
        }
    )
    return gitops


@pytest.fixture
def job_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs (bash run by this process) find ``gitops-bot`` on PATH first."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def world(job_path: None) -> Iterator[World]:
    """The sandbox with platform/gitops seeded and the bot serving on loopback."""
    with SandboxThread() as sandbox:
        gl = client(sandbox, sandbox.root_token)
        bot_user, bot_token = create_user(gl, "gitops-bot")
        gitops = _seed_gitops(gl, bot_user.id)
        environ = {"SCI_GITLAB_TOKEN": bot_token, "SCI_WEBHOOK_SECRET": "unused-here"}
        clock = OffsetClock()
        config = bot_config(sandbox.url)
        bot = BotThread(create_app(config, environ=environ, clock=clock))
        bot.start()
        try:
            yield World(
                sandbox,
                gl,
                gitops,
                bot.url,
                bot_user.id,
                Control(sandbox.url, sandbox.root_token),
                clock,
                bot_token,
            )
        finally:
            bot.stop()
