"""One full run of the system on loopback, recorded for the observability tests.

The offline GitLab runs real pipelines; the bot serves on loopback and
gets GitLab's real webhooks. The run follows ``gitops-bot demo`` (a tag,
the service pipeline deploying with its ID token, the staging merge, the
promotion, a hold, approvals, ``status``, ``unhold``, the production
merge) and adds what the demo leaves out: a second service job that
deploys with its CI job token, calls with a static token, a finished
job's token replayed, a wrong webhook secret, and one injected 502 that
the adapter must retry.

Everything the bot's process logged (stdlib and structlog, at debug) is
kept, with every secret the run used: the tests search the one for the
other, and read the metrics scraped at the end.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web

from bot.config import parse_config
from bot.demo.seed import SERVICE_CI, DemoWorld, bot_config, seed
from bot.demo.walkthrough import Walkthrough, promote_to_production, release_to_staging
from bot.sandbox import Sandbox
from bot.sandbox.ci import jobenv
from bot.server.app import create_app
from bot.server.logs import configure_logging
from tests.gitlab.world import Control

WEBHOOK_SECRET = "whsec-obs-3f9a1c77d2e4"
STATIC_TOKEN = "static-obs-token-b81e05c9a4"
STATIC_TOKEN_ENV = "OBS_STATIC_TOKEN"
FILES_ROUTE = "GET /projects/:id/repository/files/:path"
JOB_TOKEN_JOB = """
gitops-deploy-job-token:
  stage: verify
  rules:
    - if: $CI_COMMIT_TAG
  script:
    - >
      $GITOPS_BOT_COMMAND trigger --url "$GITOPS_BOT_URL" --app my-app
      --env staging --tag "$CI_COMMIT_TAG" --timeout 60
"""


@dataclass
class FlowRecord:
    """What one run left behind: logs, job logs, metrics, answers, secrets."""

    log_lines: list[str] = field(default_factory=list)
    job_traces: list[str] = field(default_factory=list)
    metrics: str = ""
    answers: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    walkthrough: str = ""


class JobIdentities:
    """Records the job and ID tokens the offline GitLab hands to jobs."""

    def __init__(self) -> None:
        self.job_tokens: list[str] = []
        self.id_tokens: list[str] = []

    def wrap(self, make: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap ``jobenv.job_environment``: same result, tokens remembered."""

        def job_environment(state, project, pipeline, job, token):  # noqa: ANN001
            environment = make(state, project, pipeline, job, token)
            self.job_tokens.append(token)
            self.id_tokens.extend(environment.env[name] for name in job.id_tokens)
            return environment

        return job_environment


def run_flow() -> FlowRecord:
    """Run the whole flow once (its own event loop); return its record."""
    stream = io.StringIO()
    handler = configure_logging(stream, json=True, level=logging.DEBUG)
    identities = JobIdentities()
    record = FlowRecord()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(
                jobenv, "job_environment", identities.wrap(jobenv.job_environment)
            )
            asyncio.run(_run(record, identities))
    finally:
        logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()

    record.log_lines = stream.getvalue().splitlines()
    for n, token in enumerate(identities.job_tokens):
        record.secrets[f"job token {n}"] = token
    for n, token in enumerate(identities.id_tokens):
        record.secrets[f"ID token {n}"] = token
    return record


async def _run(record: FlowRecord, identities: JobIdentities) -> None:
    async with Sandbox(tier="premium") as sandbox:
        bot_url = f"http://127.0.0.1:{_free_port()}"
        world = await asyncio.to_thread(seed, sandbox.url, sandbox.root_token, bot_url)
        await asyncio.to_thread(_add_job_token_job, world)
        record.secrets.update(_known_secrets(world, sandbox.root_token))
        control = Control(sandbox.url, sandbox.root_token)
        runner = await _start_bot(sandbox.url, world, bot_url)
        try:
            await _walk(record, world, control, bot_url, identities)
        finally:
            await runner.cleanup()


async def _walk(
    record: FlowRecord,
    world: DemoWorld,
    control: Control,
    bot_url: str,
    identities: JobIdentities,
) -> None:
    """The demo's steps, with the extra calls between them."""
    out = io.StringIO()
    walk = Walkthrough(world, out)
    # The bot's first file read gets a 502 (retried by the adapter).
    await asyncio.to_thread(
        control.inject, method="GET", path="/repository/files/", count=1, status=502
    )
    await release_to_staging(walk)

    async with aiohttp.ClientSession(base_url=bot_url) as bot:
        record.answers.update(await _extra_calls(bot, identities.job_tokens[0]))
        await promote_to_production(walk)
        async with bot.get("/metrics") as answer:
            record.metrics = await answer.text()

    record.job_traces = await asyncio.to_thread(_traces, world.service)
    record.walkthrough = out.getvalue()


async def _extra_calls(bot: aiohttp.ClientSession, finished_job_token: str) -> dict:
    """Static-token reads and writes, a replayed job token, a forged webhook."""
    static = {"Authorization": f"Bearer {STATIC_TOKEN}"}
    dry_run = {"app": "my-app", "environment": "production", "tag": "v1.1.0"}
    calls = {
        "static status": bot.get("/api/v1/deployments/my-app/staging", headers=static),
        "static dry run": bot.post(
            "/api/v1/deployments", json={**dry_run, "dry_run": True}, headers=static
        ),
        "finished job token": bot.post(
            "/api/v1/deployments",
            json=dry_run,
            headers={"JOB-TOKEN": finished_job_token},
        ),
        "wrong webhook secret": bot.post(
            "/webhooks/gitlab",
            json={"object_kind": "note"},
            headers={"X-Gitlab-Token": WEBHOOK_SECRET[:-1]},
        ),
    }
    answers = {}
    for name, call in calls.items():
        async with call as answer:
            answers[name] = answer.status
    return answers


def _add_job_token_job(world: DemoWorld) -> None:
    """A second deploy job, without an ID token: it proves itself with
    CI_JOB_TOKEN."""
    text = SERVICE_CI.replace("stages: [deploy]", "stages: [deploy, verify]")
    world.service.files.update(
        ".gitlab-ci.yml",
        {
            "branch": world.service.default_branch,
            "content": text + JOB_TOKEN_JOB,
            "commit_message": "Deploy with the job token too",
        },
    )


def _known_secrets(world: DemoWorld, root_token: str) -> dict[str, str]:
    """Every secret the run hands out, by who holds it."""
    secrets = {f"{name}'s GitLab token": token for name, token in world.tokens.items()}
    return {
        **secrets,
        "GitLab root token": root_token,
        "webhook secret": WEBHOOK_SECRET,
        "static token": STATIC_TOKEN,
    }


async def _start_bot(gitlab_url: str, world: DemoWorld, bot_url: str) -> web.AppRunner:
    """The bot on ``bot_url``, with a static token, and GitLab's hook to it."""
    static = (
        f"  static_tokens:\n    - project: my-org/my-app\n"
        f"      token_env: {STATIC_TOKEN_ENV}\n"
    )
    text = bot_config(gitlab_url).replace("server:\n", "server:\n" + static, 1)
    environ = {
        "GITOPS_BOT_DEMO_TOKEN": world.tokens["gitops-bot"],
        "GITOPS_BOT_DEMO_WEBHOOK_SECRET": WEBHOOK_SECRET,
        STATIC_TOKEN_ENV: STATIC_TOKEN,
    }
    runner = web.AppRunner(
        create_app(parse_config(text, "<observability>", {}), environ=environ)
    )
    await runner.setup()
    port = int(bot_url.rsplit(":", 1)[1])
    await web.TCPSite(runner, "127.0.0.1", port).start()

    events = ("merge_requests", "note", "pipeline", "emoji")
    hook = {f"{kind}_events": True for kind in events}
    hook |= {"url": f"{bot_url}/webhooks/gitlab", "token": WEBHOOK_SECRET}
    await asyncio.to_thread(world.gitops.hooks.create, {**hook, "push_events": False})
    return runner


def _traces(project: Any) -> list[str]:
    """The logs of every job of ``project`` (the trigger command's output)."""
    jobs = project.jobs.list(get_all=True)
    return [project.jobs.get(job.id).trace().decode(errors="replace") for job in jobs]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
