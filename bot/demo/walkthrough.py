"""`gitops-bot demo`: the whole life cycle on the offline GitLab, step by step.

A service tags a release; its pipeline asks the bot (with an ID token) to
deploy to staging; the merge request pipeline passes and the bot merges;
the image is promoted to production, where two SRE approvals are needed,
a reviewer holds the merge request and lets it go; the bot merges.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Callable
from typing import Any, TextIO

from aiohttp import web

from bot.config import parse_config
from bot.demo.seed import DemoWorld, add_bot_webhook, bot_config, seed
from bot.errors import GitopsBotError
from bot.sandbox import Sandbox
from bot.server.app import create_app
from bot.server.logs import configure_logging

POLL_SECONDS = 0.3
WAIT_SECONDS = 120.0
RELEASE = "v1.1.0"


class DemoFailed(GitopsBotError):
    """A step of the demo did not reach its expected state in time."""


class Walkthrough:
    """The demo's steps, printed to ``out`` as they happen."""

    def __init__(self, world: DemoWorld, out: TextIO) -> None:
        self.world, self.out = world, out
        self.step_number = 0

    def say(self, title: str, *lines: str) -> None:
        """Print one step with its details indented below."""
        self.step_number += 1
        print(f"\n{self.step_number}. {title}", file=self.out)
        for line in lines:
            print(f"     {line}", file=self.out)
        self.out.flush()

    async def wait_until(self, what: str, check: Callable[[], Any]) -> Any:
        """Poll ``check`` (blocking, run in a thread) until it returns a value."""
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            value = await asyncio.to_thread(check)
            if value:
                return value
            await asyncio.sleep(POLL_SECONDS)
        raise DemoFailed(f"timed out after {WAIT_SECONDS:.0f}s waiting for {what}")

    def merge_request(self, env: str, state: str = "all") -> Any:
        """The bot's newest merge request for my-app in ``env``, or None."""
        found = self.world.gitops.mergerequests.list(
            source_branch=f"gitops/{env}/my-app", state=state, get_all=True
        )
        return max(found, key=lambda mr: mr.iid, default=None)

    def as_user(self, name: str, iid: int) -> Any:
        """``!iid`` through ``name``'s own client."""
        project = self.world.clients[name].projects.get(self.world.gitops.id, lazy=True)
        return project.mergerequests.get(iid)

    async def comment(self, name: str, iid: int, body: str) -> str:
        """``name`` comments on ``!iid``; return the bot's reply to it."""
        note = await asyncio.to_thread(
            lambda: self.as_user(name, iid).notes.create({"body": body})
        )
        return await self.wait_until(
            f"the bot's reply to {body!r}", lambda: self._reply_after(iid, note.id)
        )

    def _reply_after(self, iid: int, note_id: int) -> str | None:
        notes = self.world.gitops.mergerequests.get(iid, lazy=True).notes.list(
            get_all=True, sort="asc"
        )
        bot_id = self.world.user_ids["gitops-bot"]
        for note in notes:
            if note.id > note_id and note.author["id"] == bot_id and not note.system:
                return note.body
        return None

    async def merged(self, env: str) -> Any:
        """Wait until the bot merged its merge request for ``env``."""
        return await self.wait_until(
            f"the {env} merge request to be merged",
            lambda: (mr := self.merge_request(env)) and mr.state == "merged" and mr,
        )


async def release_to_staging(walk: Walkthrough) -> None:
    """Steps: tag the service, its pipeline calls the bot, staging merges."""
    await _run_deploy_job(walk)
    await _show_staging_mr(walk)
    merged = await walk.merged("staging")
    walk.say(
        f"integration-test passed for {merged.sha[:8]}: the bot merged !{merged.iid}",
        "staging needs no approval; the merge named the tested commit",
    )


async def _run_deploy_job(walk: Walkthrough) -> None:
    """Tag the service; its pipeline's deploy job must call the bot and pass."""
    service = walk.world.service
    await asyncio.to_thread(
        lambda: service.tags.create({"tag_name": RELEASE, "ref": "main"})
    )
    pipeline = await walk.wait_until(
        "the service's tag pipeline",
        lambda: next(
            (
                p
                for p in service.pipelines.list(ref=RELEASE, get_all=True)
                if p.status in {"success", "failed"}
            ),
            None,
        ),
    )
    trace = await asyncio.to_thread(_job_log, service, pipeline.id)
    walk.say(
        f"my-org/my-app tagged {RELEASE}: its pipeline #{pipeline.id} "
        f"ran gitops-deploy ({pipeline.status})",
        "the job proved itself with a GitLab ID token; last line of its log:",
        trace[-1] if trace else "(empty log)",
    )
    if pipeline.status != "success":
        raise DemoFailed("the service's deploy job failed:\n" + "\n".join(trace))


async def _show_staging_mr(walk: Walkthrough) -> None:
    """Wait for the bot's staging merge request; show its title and diff."""
    mr = await walk.wait_until("the staging MR", lambda: walk.merge_request("staging"))
    changes = await asyncio.to_thread(lambda: mr.changes()["changes"])
    diff = [
        line
        for change in changes
        for line in change["diff"].splitlines()
        if line.startswith(("+ ", "- ", "+  ", "-  "))
    ]
    walk.say(
        f"the bot opened !{mr.iid}: {mr.title}",
        mr.web_url,
        f"labels: {', '.join(mr.labels)}",
        *diff,
    )


async def promote_to_production(walk: Walkthrough) -> None:
    """Steps: auto promotion, approvals, a hold, status, unhold, merge."""
    mr = await walk.wait_until(
        "the production MR", lambda: walk.merge_request("production", "opened")
    )
    walk.say(
        f"staging promotes to production: the bot opened !{mr.iid}",
        mr.web_url,
        "production needs 2 approvals from platform/sre and integration-test",
    )
    iid = mr.iid
    reply = await walk.comment("alice", iid, "/gitops hold waiting for release notes")
    walk.say("alice: /gitops hold waiting for release notes", f"bot: {_first(reply)}")

    for name in ("dave", "bob", "alice"):
        await asyncio.to_thread(lambda name=name: walk.as_user(name, iid).approve())
    walk.say(
        "dave, bob and alice approve",
        "dave is not in platform/sre: his approval does not count",
    )
    reply = await walk.comment("bob", iid, "/gitops status")
    walk.say("bob: /gitops status", *[f"bot: {line}" for line in _lines(reply)])

    reply = await walk.comment("alice", iid, "/gitops unhold")
    walk.say("alice: /gitops unhold", f"bot: {_first(reply)}")
    merged = await walk.merged("production")
    walk.say(f"the bot merged !{merged.iid} at {merged.sha[:8]}", merged.web_url)


def _job_log(project: Any, pipeline_id: int) -> list[str]:
    """The lines of the log of the first job of ``pipeline_id``."""
    (job,) = project.pipelines.get(pipeline_id).jobs.list()[:1]
    log = project.jobs.get(job.id).trace().decode(errors="replace")
    return log.strip().splitlines()


def _lines(text: str) -> list[str]:
    """The reply's visible lines: no quote of the command, no hidden marker."""
    lines = [line for line in text.splitlines() if line.strip()]
    shown = [line for line in lines if not line.startswith((">", "<!--"))]
    return shown[:12]


def _first(text: str) -> str:
    return (_lines(text) or [""])[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def walk_through(out: TextIO) -> None:
    """Run the offline GitLab and the bot on loopback, then every step."""
    async with Sandbox(tier="premium") as sandbox:
        bot_url = f"http://127.0.0.1:{_free_port()}"
        world = await asyncio.to_thread(seed, sandbox.url, sandbox.root_token, bot_url)
        walk = Walkthrough(world, out)
        walk.say(
            f"offline GitLab at {sandbox.url} (premium tier)",
            f"GitOps repository: {world.gitops.web_url}",
            f"service: {world.service.web_url}",
        )
        runner = await _start_bot(sandbox.url, world, bot_url)
        try:
            walk.say(f"gitops-bot serving at {bot_url}", "webhooks: platform/gitops")
            await release_to_staging(walk)
            await promote_to_production(walk)
        finally:
            await runner.cleanup()
    print("\nDone: my-app v1.1.0 went from a tag to production.", file=out)


async def _start_bot(gitlab_url: str, world: DemoWorld, bot_url: str) -> web.AppRunner:
    secret = secrets.token_urlsafe(16)
    config = parse_config(bot_config(gitlab_url), "<demo>", {})
    environ = {
        "GITOPS_BOT_DEMO_TOKEN": world.tokens["gitops-bot"],
        "GITOPS_BOT_DEMO_WEBHOOK_SECRET": secret,
    }
    runner = web.AppRunner(create_app(config, environ=environ))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(bot_url.rsplit(":", 1)[1])).start()
    await asyncio.to_thread(add_bot_webhook, world.gitops, bot_url, secret)
    return runner


def run(args: object, out: TextIO | None = None) -> int:
    """Entry point of `gitops-bot demo`."""
    import sys

    # The walk-through's own lines go to stdout; the bot's logs only when
    # something goes wrong.
    configure_logging(sys.stderr, json=False, level=logging.WARNING)
    asyncio.run(walk_through(out or sys.stdout))
    return 0
