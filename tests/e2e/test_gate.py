"""The merge gate end to end: approvals, a moving head, lost and doubled webhooks."""

from __future__ import annotations

import asyncio
import contextlib

import gitlab

from bot.server import keys
from tests.e2e.conftest import MakeWorld, World

PASSED = {"integration-test": "success"}


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
    approvals on the older tag do not count."""
    iid = (await world.deploy("v1.1.0", "production"))["merge_request"]["iid"]
    await _try_approve(world, "mallory", iid)
    await world.approve("alice", iid)
    await world.finish_pipeline(iid, "success", PASSED)
    assert (await world.sync(lambda: world.mr(iid))).state == "opened"

    await world.deploy("v1.2.0", "production")
    await world.approve("bob", iid)
    await world.finish_pipeline(iid, "success", PASSED)
    assert (await world.sync(lambda: world.mr(iid))).state == "opened"

    await world.comment("alice", iid, "/gitops status")
    status = (await world.sync(lambda: world.bot_notes(iid)))[-1]
    assert "`approvals_missing`" in status and "1 of 2 approvals" in status

    await world.approve("alice", iid)
    mr = await world.sync(lambda: world.mr(iid))
    assert mr.state == "merged" and "v1.2.0" in mr.title


async def test_no_merge_of_a_head_whose_pipeline_has_not_passed(world: World) -> None:
    """A pipeline passing for SHA A after the branch moved to SHA B merges
    nothing; B's own passing pipeline does."""
    iid = (await world.deploy("v1.1.0"))["merge_request"]["iid"]
    sha_a = (await world.sync(lambda: world.mr(iid))).sha
    await world.deploy("v1.2.0")
    sha_b = (await world.sync(lambda: world.mr(iid))).sha
    assert sha_a != sha_b

    await world.finish_pipeline(iid, "success", sha=sha_a)
    assert (await world.sync(lambda: world.mr(iid))).state == "opened"

    await world.finish_pipeline(iid, "success", sha=sha_b)
    mr = await world.sync(lambda: world.mr(iid))
    assert mr.state == "merged" and mr.merge_commit_sha is not None


async def test_dropped_webhooks_healed_by_the_sweep(make_world: MakeWorld) -> None:
    """With every webhook dropped, the sweep still merges within one interval."""
    world = await make_world(sweep_interval_seconds=1)
    iid = (await world.deploy("v1.1.0"))["merge_request"]["iid"]
    world.control.inject(webhooks="drop", count=50)
    await world.finish_pipeline(iid, "success")

    for _ in range(100):  # the sweep runs on its own; look at GitLab's state
        if (await world.sync(lambda: world.mr(iid))).state == "merged":
            break
        await world.settle()
        await asyncio.sleep(0.05)  # polling GitLab, not awaiting a delivery
    assert (await world.sync(lambda: world.mr(iid))).state == "merged"


async def test_duplicated_webhooks_one_reply_per_command(world: World) -> None:
    """Every webhook delivered twice: one merge, one reply per command."""
    iid = (await world.deploy("v1.1.0"))["merge_request"]["iid"]
    world.control.inject(webhooks="duplicate", count=50)
    await world.comment("alice", iid, "/gitops status")
    await world.finish_pipeline(iid, "success")

    assert len(await world.sync(lambda: world.bot_notes(iid))) == 1
    assert (await world.sync(lambda: world.mr(iid))).state == "merged"


async def test_two_gitlab_calls_per_decision_when_nothing_changed(
    world: World,
) -> None:
    """A repeated gate decision on an unchanged production MR with approvals
    costs 2 GitLab calls: the merge request and its approvals."""
    iid = (await world.deploy("v1.1.0", "production"))["merge_request"]["iid"]
    await world.approve("alice", iid)
    triggers = world.bot_app[keys.ROUTER].sweeps[0].__self__
    context = world.bot_app[keys.INTAKE]._make_context("bench")
    await triggers.gate.run(context, iid)

    await world.sync(world.control.clear_log)
    outcome = await triggers.gate.run(context, iid)

    calls = await world.sync(world.control.calls)
    assert outcome.action == "waiting"
    assert sum(calls.values()) == 2, calls
