"""The end-to-end world: the sandbox GitLab, its real pipelines, and the bot.

The sandbox runs in its own thread (python-gitlab is synchronous); the bot
runs in-process on the test's loop and receives the sandbox's real webhooks
at ``/webhooks/gitlab``. Merge request pipelines come from the GitOps
project's ``.gitlab-ci.yml`` and run ``integration-test`` in a shell; its
outcome follows the project CI/CD variable ``INTEGRATION_RESULT``
(``fail`` fails it), read when the job runs, so a retried job sees a new
value. ``World.settle`` waits, without fixed sleeps, until every pipeline
has settled, the sandbox has delivered every webhook and the bot has
handled every event (repeating while handling produces new work).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gitlab
import requests
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.chatops.ledger import read_marker
from bot.gate.execute import GateOutcome, MergeGate
from bot.sandbox.ci.testing import SETTLED, find_pipelines
from bot.sandbox.server import SandboxThread
from bot.server import keys
from tests.gitlab.world import Control

WEB_TOKEN = "static-e2e-web-4e21"
RESULT_VARIABLE = "INTEGRATION_RESULT"
SETTLE_ROUNDS = 20
PIPELINE_WAIT_SECONDS = 30.0


def visible_reply(body: str, note_id: int) -> str:
    """A bot reply without its last line, the hidden marker naming the note
    it answered (which must be ``note_id``)."""
    text, _, marker = body.rpartition("\n\n")
    assert read_marker(marker) is not None, body
    assert note_id in read_marker(marker)[0], body  # type: ignore[index]
    return text


async def no_pause(_: float) -> None:
    """The gate's pause between reads while GitLab says ``checking``: the
    sandbox ends that window after a number of reads, not after a time."""


@dataclass
class World:
    """The sandbox, its people, the GitOps project and the running bot."""

    sandbox: SandboxThread
    gl: gitlab.Gitlab
    project: Any
    people: dict[str, gitlab.Gitlab]
    bot_app: web.Application
    bot_url: str
    control: Control
    bot_user_id: int
    gate: MergeGate
    bot_server: TestServer

    async def sync(self, function: Callable[[], Any]) -> Any:
        """Run a blocking python-gitlab call off the bot's loop."""
        return await asyncio.to_thread(function)

    async def settle(self) -> None:
        """Wait until pipelines, webhooks and the bot's queue are all quiet."""
        intake = self.bot_app[keys.INTAKE]
        for _ in range(SETTLE_ROUNDS):
            before = self._last_delivery()
            await asyncio.to_thread(self._wait_for_pipelines)
            await asyncio.to_thread(self.sandbox.drain_webhooks)
            await intake.queue.join()
            if self._last_delivery() == before and self._pipelines_settled():
                return
        raise AssertionError(f"work kept flowing after {SETTLE_ROUNDS} rounds")

    def _last_delivery(self) -> int:
        """The id of the newest webhook delivery attempt (0 before any)."""
        deliveries = self.sandbox.state.webhooks.deliveries
        return deliveries[-1]["id"] if deliveries else 0

    def _pipelines_settled(self) -> bool:
        found = find_pipelines(self.sandbox.state, self.project.id)
        return all(pipeline.status in SETTLED for pipeline in found)

    def _wait_for_pipelines(self) -> None:
        """Block until every pipeline of the project has settled."""
        engine = self.sandbox.state.ci
        self.sandbox.run(
            engine.wait_for(self._pipelines_settled, PIPELINE_WAIT_SECONDS),
            PIPELINE_WAIT_SECONDS + 5,
        )

    async def post_deploy(
        self, tag: str, environment: str = "staging", **extra: Any
    ) -> tuple[int, dict[str, Any]]:
        """POST a deploy request as shop/web's CI; return status and JSON."""
        session = self.bot_app[keys.HTTP_SESSION]
        async with session.post(
            f"{self.bot_url}/api/v1/deployments",
            json={"app": "web", "environment": environment, "tag": tag, **extra},
            headers={"Authorization": f"Bearer {WEB_TOKEN}"},
        ) as answer:
            return answer.status, await answer.json()

    async def deploy(
        self, tag: str, environment: str = "staging", **extra: Any
    ) -> dict[str, Any]:
        """Deploy (the answer must be 200 or 201), settle; return the JSON."""
        status, body = await self.post_deploy(tag, environment, **extra)
        assert status in (200, 201), body
        await self.settle()
        return body

    async def open_mr(self, tag: str, environment: str = "staging") -> int:
        """Deploy ``tag``; return the iid of the merge request it answered."""
        return (await self.deploy(tag, environment))["merge_request"]["iid"]

    def mr(self, iid: int) -> Any:
        """The merge request as root sees it now."""
        return self.project.mergerequests.get(iid)

    async def state_of(self, iid: int) -> Any:
        """``mr(iid)`` off the loop."""
        return await self.sync(lambda: self.mr(iid))

    async def set_result(self, value: str) -> None:
        """Set ``INTEGRATION_RESULT`` (``fail`` makes integration-test fail)."""
        await self.sync(
            lambda: self.project.variables.update(RESULT_VARIABLE, {"value": value})
        )

    async def comment(self, who: str, iid: int, body: str) -> Any:
        """``who`` comments on ``!iid``; settle."""
        project = self.people[who].projects.get(self.project.id, lazy=True)
        mr = project.mergerequests.get(iid, lazy=True)
        note = await self.sync(lambda: mr.notes.create({"body": body}))
        await self.settle()
        return note

    async def ask(self, who: str, iid: int, body: str) -> str:
        """``who`` comments on ``!iid``; return the bot's one reply to it (a
        reply quotes the commands; other bot notes, such as a failure report
        the command's push led to, are not replies), without its hidden
        "answered" marker, which must name that comment."""
        count = len(await self.sync(lambda: self.bot_notes(iid)))
        note = await self.comment(who, iid, body)
        new = (await self.sync(lambda: self.bot_notes(iid)))[count:]
        replies = [text for text in new if text.startswith("> ")]
        assert len(replies) == 1, new
        return visible_reply(replies[0], note.id)

    async def add_label(self, who: str, iid: int, label: str) -> None:
        """``who`` adds ``label`` to ``!iid`` in GitLab, not by a command; settle."""
        project = self.people[who].projects.get(self.project.id, lazy=True)
        mr = project.mergerequests.get(iid, lazy=True)
        await self.sync(lambda: mr.manager.update(iid, {"add_labels": label}))
        await self.settle()

    async def run_restarted_gate(self, iid: int) -> GateOutcome:
        """Run, once, the gate of a bot just restarted (it remembers nothing of
        what it reported) on ``!iid``; settle."""
        context = self.bot_app[keys.INTAKE]._make_context("e2e-restarted")
        outcome = await MergeGate(sleep=no_pause).run(context, iid)
        await self.settle()
        return outcome

    async def approve(self, who: str, iid: int) -> None:
        """``who`` approves ``!iid``; settle."""
        project = self.people[who].projects.get(self.project.id, lazy=True)
        await self.sync(lambda: project.mergerequests.get(iid).approve())
        await self.settle()

    def notes(self, iid: int) -> list[Any]:
        """The human-readable (non-system) notes of ``!iid``, oldest first."""
        notes = self.mr(iid).notes.list(get_all=True, sort="asc")
        return [note for note in notes if not note.system]

    def bot_notes(self, iid: int) -> list[str]:
        """The bodies of the bot's notes on ``!iid``, oldest first."""
        return [n.body for n in self.notes(iid) if n.author["id"] == self.bot_user_id]

    def file(self, path: str, ref: str = "main") -> str:
        """The text of ``path`` at ``ref``."""
        found = self.project.files.get(file_path=path, ref=ref)
        return found.decode().decode()

    def merge_requests(self, environment: str) -> list[Any]:
        """Every merge request (any state) from the environment's bot branch."""
        branch = f"gitops/{environment}/web"
        return self.project.mergerequests.list(
            source_branch=branch, state="all", get_all=True
        )

    def pipelines(self, iid: int) -> list[Any]:
        """The merge request's pipelines, oldest first."""
        found = self.mr(iid).pipelines.list(get_all=True)
        return sorted(found, key=lambda pipeline: pipeline.id)

    def jobs(self, pipeline_id: int) -> list[tuple[str, str]]:
        """(name, status) of every job of a pipeline, retried ones included."""
        pipeline = self.project.pipelines.get(pipeline_id)
        found = pipeline.jobs.list(get_all=True, include_retried=True)
        return sorted((job.name, job.status) for job in found)

    async def retry_pipeline(self, pipeline_id: int) -> None:
        """Retry the failed jobs of a pipeline as root (not through the bot)."""
        pipeline = self.project.pipelines.get(pipeline_id, lazy=True)
        await self.sync(pipeline.retry)
        await self.settle()

    async def pipeline_status(self, pipeline_id: int) -> str:
        """The status of a pipeline now."""
        return (await self.sync(lambda: self.project.pipelines.get(pipeline_id))).status

    async def sweep(self) -> None:
        """Run the bot's periodic sweep once, now; settle."""
        context = self.bot_app[keys.INTAKE]._make_context("e2e-sweep")
        for sweep in self.bot_app[keys.ROUTER].sweeps:
            await sweep(context)
        await self.settle()

    def branch_head(self, name: str) -> Any:
        """The head commit (a dict) of branch ``name``."""
        return self.project.branches.get(name).commit

    def merge_calls(self) -> list[dict[str, Any]]:
        """The merge calls GitLab received (from the sandbox's request log)."""
        return [
            entry
            for entry in self.control.requests()
            if entry["method"] == "PUT" and entry["path"].endswith("/merge")
        ]

    def clear_faults(self) -> None:
        """Remove every pending sandbox fault."""
        requests.delete(
            f"{self.sandbox.url}/-/sandbox/faults",
            headers={"PRIVATE-TOKEN": self.sandbox.root_token},
            timeout=10,
        ).raise_for_status()
