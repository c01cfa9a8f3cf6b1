"""The bot's labels on GitLab Premium, where a merge request keeps one label
per scope: ``gitops::hold`` and ``gitops::pipeline-failed`` share one."""

from __future__ import annotations

from bot.gate.execute import FAILED_LABEL
from bot.gate.model import HOLD_LABEL, MERGE_REQUESTED_LABEL
from bot.sandbox.mr.model import label_scope
from tests.e2e.build import MakeWorld
from tests.e2e.world import World


async def premium_world(make_world: MakeWorld) -> World:
    """A world whose sandbox plays GitLab Premium (scoped labels)."""
    world = await make_world(tier="premium")
    assert world.sandbox.state.tier == "premium"
    return world


async def failure_notes(world: World, iid: int) -> list[str]:
    """The bot's pipeline-failure comments on ``!iid``."""
    notes = await world.sync(lambda: world.bot_notes(iid))
    return [note for note in notes if "gitops-bot:pipeline-failed" in note]


async def test_failure_while_held_keeps_the_hold_until_unhold(
    make_world: MakeWorld,
) -> None:
    """A held MR whose pipeline then fails keeps its hold (no failure label),
    gets one failure comment and is not merged, and `status` still names the
    failure; `unhold` adds the failure label; a passing retry merges it."""
    world = await premium_world(make_world)
    iid = await world.open_mr("v1.1.0", "production")
    await world.ask("alice", iid, "/gitops hold until the migration ran")
    await world.set_result("fail")
    await world.deploy("v1.2.0", "production")
    await world.sweep()

    mr = await world.state_of(iid)
    assert mr.state == "opened" and mr.head_pipeline["status"] == "failed"
    assert HOLD_LABEL in mr.labels and FAILED_LABEL not in mr.labels
    (failure,) = await failure_notes(world, iid)
    assert f"failed for `{mr.sha[:8]}`" in failure
    assert await world.sync(world.merge_calls) == []
    status = await world.ask("bob", iid, "/gitops status")
    assert f"failed for `{mr.sha[:8]}` (`integration-test`)" in status
    assert (
        "- `held`: held by `alice`: until the migration ran; `unhold` lifts it"
        in status
    )

    reply = await world.ask("alice", iid, "/gitops unhold")
    assert "Hold lifted. The head pipeline failed." in reply
    mr = await world.state_of(iid)
    assert FAILED_LABEL in mr.labels and HOLD_LABEL not in mr.labels
    assert len(await failure_notes(world, iid)) == 1

    await world.approve("alice", iid)
    await world.approve("bob", iid)
    await world.set_result("pass")
    await world.comment("alice", iid, "/gitops retry")
    mr = await world.state_of(iid)
    assert mr.state == "merged" and FAILED_LABEL not in mr.labels
    assert len(await failure_notes(world, iid)) == 1


async def test_hold_by_hand_drops_the_failure_label_and_nothing_needs_it(
    make_world: MakeWorld,
) -> None:
    """A hold added in GitLab's UI evicts `gitops::pipeline-failed`; a
    restarted bot, which remembers nothing, does not comment the failure
    again nor put the label back; `unhold` brings the label back."""
    world = await premium_world(make_world)
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")
    assert FAILED_LABEL in (await world.state_of(iid)).labels

    await world.add_label("alice", iid, HOLD_LABEL)
    labels = (await world.state_of(iid)).labels
    assert HOLD_LABEL in labels and FAILED_LABEL not in labels
    outcome = await world.run_restarted_gate(iid)

    assert outcome.action == "reported"
    labels = (await world.state_of(iid)).labels
    assert HOLD_LABEL in labels and FAILED_LABEL not in labels
    assert len(await failure_notes(world, iid)) == 1

    await world.ask("alice", iid, "/gitops unhold")
    mr = await world.state_of(iid)
    assert FAILED_LABEL in mr.labels and mr.state == "opened"
    assert len(await failure_notes(world, iid)) == 1


async def test_remembered_merge_label_coexists_with_hold_and_failure(
    make_world: MakeWorld,
) -> None:
    """The remembered `merge` label has a scope of its own: it stays beside
    the failure label and then beside a hold; after a passing retry the MR
    waits for `unhold`, which merges it without another `merge`."""
    world = await premium_world(make_world)
    assert label_scope(MERGE_REQUESTED_LABEL) not in {
        label_scope(HOLD_LABEL),
        label_scope(FAILED_LABEL),
    }
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0", "qa")
    await world.ask("mallory", iid, "/gitops merge")
    labels = (await world.state_of(iid)).labels
    assert MERGE_REQUESTED_LABEL in labels and FAILED_LABEL in labels

    await world.ask("mallory", iid, "/gitops hold")
    await world.set_result("pass")
    await world.comment("alice", iid, "/gitops retry")
    mr = await world.state_of(iid)
    assert mr.state == "opened" and mr.head_pipeline["status"] == "success"
    assert {HOLD_LABEL, MERGE_REQUESTED_LABEL} <= set(mr.labels)

    reply = await world.ask("mallory", iid, "/gitops unhold")
    assert reply.endswith(f"Hold lifted. Merged !{iid}.")
    assert (await world.state_of(iid)).state == "merged"
