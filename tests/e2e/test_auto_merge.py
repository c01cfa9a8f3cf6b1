"""GitLab's auto-merge (``merge_method: gitlab_auto_merge``) end to end.

GitLab merges at once an auto-merge request that finds the pipeline already
failed, unless the project requires pipelines to succeed. So the gate asks
for it only with ``only_allow_merge_if_pipeline_succeeds`` on; otherwise it
waits for the pipeline and merges itself. The head pipeline here holds a job
that runs until the test writes its verdict to a file, so the gate sees the
pipeline running for as long as the test needs.
"""

from __future__ import annotations

from pathlib import Path

from bot.gate.execute import GateOutcome
from bot.sandbox.ci.testing import find_pipelines
from bot.server import keys
from tests.e2e.build import GITOPS_CI, MakeWorld
from tests.e2e.world import World

WAIT_SECONDS = 30.0


def _held_ci(verdict: Path) -> str:
    """The world's CI plus a job running until ``verdict`` exists; it passes
    when the file says ``pass``."""
    return GITOPS_CI + (
        "held-open:\n"
        "  stage: test\n"
        "  script:\n"
        f"    - while [ ! -e {verdict} ]; do sleep 0.02; done\n"
        f'    - test "$(cat {verdict})" = pass\n'
    )


async def _open_with_running_pipeline(world: World, verdict: Path) -> int:
    """Open a merge request whose head pipeline keeps running; return its iid."""
    commit = {
        "branch": "main",
        "commit_message": "CI: hold the pipeline open",
        "actions": [
            {"action": "update", "file_path": ".gitlab-ci.yml",
             "content": _held_ci(verdict)}
        ],
    }  # fmt: skip
    await world.sync(lambda: world.project.commits.create(commit))
    status, body = await world.post_deploy("v1.1.0")
    assert status in (200, 201), body
    iid = body["merge_request"]["iid"]

    def running() -> bool:
        found = find_pipelines(world.sandbox.state, world.project.id)
        return any(pipeline.status == "running" for pipeline in found)

    engine = world.sandbox.state.ci
    world.sandbox.run(engine.wait_for(running, WAIT_SECONDS), WAIT_SECONDS + 5)
    return iid


async def _run_gate(world: World, iid: int) -> GateOutcome:
    """Run the bot's own gate on ``!iid`` once, now."""
    context = world.bot_app[keys.INTAKE]._make_context("e2e-auto-merge")
    return await world.gate.run(context, iid)


async def test_failing_pipeline_never_merges_without_pipelines_must_succeed(
    make_world: MakeWorld, tmp_path: Path
) -> None:
    """With the project's "Pipelines must succeed" off, the gate never asks
    GitLab for auto-merge while the pipeline runs (GitLab would merge at once
    if it had failed meanwhile); the pipeline then fails and nothing merges."""
    world = await make_world(merge_method="gitlab_auto_merge")
    verdict = tmp_path / "verdict"
    iid = await _open_with_running_pipeline(world, verdict)

    outcome = await _run_gate(world, iid)
    assert outcome.action == "waiting"
    assert [r.code for r in outcome.decision.reasons] == ["pipeline_running"]
    assert world.merge_calls() == []

    verdict.write_text("fail")
    await world.settle()
    mr = await world.state_of(iid)
    assert mr.state == "opened" and not mr.merge_when_pipeline_succeeds
    assert (await world.pipeline_status(world.pipelines(iid)[-1].id)) == "failed"
    assert world.merge_calls() == []
    report = await world.ask("alice", iid, "/gitops status")
    assert "`only_allow_merge_if_pipeline_succeeds` off" in report


async def test_auto_merge_set_while_running_when_pipelines_must_succeed(
    make_world: MakeWorld, tmp_path: Path
) -> None:
    """With "Pipelines must succeed" on, the gate sets GitLab's auto-merge
    while the pipeline runs, and GitLab merges once it passes."""
    world = await make_world(merge_method="gitlab_auto_merge")
    world.project.only_allow_merge_if_pipeline_succeeds = True
    await world.sync(world.project.save)
    verdict = tmp_path / "verdict"
    iid = await _open_with_running_pipeline(world, verdict)

    outcome = await _run_gate(world, iid)
    if outcome.action != "waiting":  # a webhook's run may have set it first
        assert outcome.action == "auto-merge-set"
    mr = await world.state_of(iid)
    assert mr.state == "opened" and mr.merge_when_pipeline_succeeds
    assert len(world.merge_calls()) == 1

    verdict.write_text("pass")
    await world.settle()
    assert (await world.state_of(iid)).state == "merged"
    assert len(world.merge_calls()) == 1
