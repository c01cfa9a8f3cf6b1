"""The merge gate end to end: approvals, a moving head, lost and doubled webhooks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import gitlab

from bot.server import keys
from tests.e2e.build import MakeWorld
from tests.e2e.world import World

SWEEP_POLLS = 100


async def _try_approve(world: World, who: str, iid: int) -> None:
    """Approve; GitLab itself may refuse an approver outside the rule (401)."""
    with contextlib.suppress(
        gitlab.exceptions.GitlabAuthenticationError, gitlab.exceptions.GitlabHttpError
    ):
        await world.approve(who, iid)


async def test_production_needs_two_sre_approvals_on_the_current_tag(
    world: World,
) -> None:
    """Production merges only with 2 approvals from platform/sre given for the
    current tag and a passing integration test; a non-member's approval and
    approvals on the older tag do not count, and `status` says why."""
    iid = await world.open_mr("v1.1.0", "production")
    await _try_approve(world, "mallory", iid)
    await world.approve("alice", iid)
    assert (await world.state_of(iid)).state == "opened"

    await world.deploy("v1.2.0", "production")
    await world.approve("bob", iid)
    mr = await world.state_of(iid)
    assert mr.state == "opened" and mr.head_pipeline["status"] == "success"

    status = await world.ask("alice", iid, "/gitops status")
    assert "`approvals_missing`: 1 of 2 approvals from platform/sre" in status
    assert f"approvals reset when the branch changes; head {mr.sha[:8]}" in status

    await world.approve("alice", iid)
    mr = await world.state_of(iid)
    assert mr.state == "merged" and "v1.2.0" in mr.title
    text = await world.sync(
        lambda: world.file("apps/web/production/kustomization.yaml")
    )
    assert "newTag: v1.2.0" in text


async def test_no_merge_of_a_head_whose_pipeline_has_not_passed(world: World) -> None:
    """A pipeline passing for SHA A after the branch moved to SHA B merges
    nothing; B's own passing pipeline does."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")
    sha_a = (await world.state_of(iid)).sha
    await world.deploy("v1.2.0")
    sha_b = (await world.state_of(iid)).sha
    old, new = await world.sync(lambda: world.pipelines(iid))
    assert (old.sha, new.sha) == (sha_a, sha_b) and sha_a != sha_b

    await world.set_result("pass")
    await world.retry_pipeline(old.id)
    assert await world.pipeline_status(old.id) == "success"
    assert (await world.state_of(iid)).state == "opened"

    await world.retry_pipeline(new.id)
    mr = await world.state_of(iid)
    assert mr.state == "merged" and mr.sha == sha_b


async def test_dropped_webhooks_healed_by_the_sweep(make_world: MakeWorld) -> None:
    """With every webhook dropped, the sweep still merges within one interval."""
    world = await make_world(sweep_interval_seconds=1)
    world.control.inject(webhooks="drop", count=500)
    status, answer = await world.post_deploy("v1.1.0")
    assert status == 201
    iid = answer["merge_request"]["iid"]

    for _ in range(SWEEP_POLLS):  # the sweep runs on its own timer: poll GitLab
        await world.settle()
        if (await world.state_of(iid)).state == "merged":
            break
        await asyncio.sleep(0.05)
    assert (await world.state_of(iid)).state == "merged"
    assert await world.sync(lambda: world.bot_notes(iid)) == []


async def test_duplicated_webhooks_one_merge_one_reply(world: World) -> None:
    """Every webhook delivered twice: one reply per command, one merge."""
    world.control.inject(webhooks="duplicate", count=500)
    iid = await world.open_mr("v1.1.0", "production")
    await world.ask("alice", iid, "/gitops status")
    await world.approve("alice", iid)
    await world.approve("bob", iid)

    assert len(await world.sync(lambda: world.bot_notes(iid))) == 1
    assert (await world.state_of(iid)).state == "merged"
    merges = await world.sync(world.merge_calls)
    assert [entry["status"] for entry in merges] == [200]


MR = "GET /projects/:id/merge_requests/:iid"
UNCHANGED = {MR: 1, f"{MR}/approvals": 1}
NOTES_LISTED = {MR: 1, f"{MR}/notes": 1, f"{MR}/approvals": 1}


async def _decision_calls(world: World, run: Callable[[], Awaitable[object]]) -> dict:
    """The GitLab calls (by route) of one gate run."""
    await world.sync(world.control.clear_log)
    await run()
    return dict(await world.sync(world.control.calls))


async def test_two_gitlab_calls_per_decision_when_nothing_changed(
    world: World,
) -> None:
    """A repeated gate decision on an unchanged production MR with approvals
    costs 2 GitLab calls, the merge request and its approvals: its notes are
    listed again only when GitLab's count of them moved (a note added: 3
    calls, once) or the bot restarted (then its other caches are empty too);
    a sweep adds one listing of the open merge requests."""
    iid = await world.open_mr("v1.1.0", "production")
    await world.approve("alice", iid)
    context = world.bot_app[keys.INTAKE]._make_context("bench")
    await world.gate.run(context, iid)

    def gate_run() -> Awaitable[object]:
        return world.gate.run(context, iid)

    assert await _decision_calls(world, gate_run) == UNCHANGED
    await world.comment("bob", iid, "Looks right to me.")
    assert await _decision_calls(world, gate_run) == NOTES_LISTED
    assert await _decision_calls(world, gate_run) == UNCHANGED

    calls = await _decision_calls(world, world.sweep)
    assert calls == {**UNCHANGED, "GET /projects/:id/merge_requests": 1}, calls
    restarted = await _decision_calls(world, lambda: world.run_restarted_gate(iid))
    assert restarted[f"{MR}/notes"] == 1, restarted  # its caches start empty
