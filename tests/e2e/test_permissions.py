"""Comment-command permissions end to end: what a commenter may do cannot
be widened by editing the merge request, its labels or its description."""

from __future__ import annotations

from bot.gate.model import HOLD_LABEL, MERGE_REQUESTED_LABEL
from tests.e2e.build import MakeWorld
from tests.e2e.world import World


async def edit_description(world: World, who: str, iid: int, text: str) -> None:
    """``who`` replaces the description of ``!iid`` in GitLab; settle."""
    project = world.people[who].projects.get(world.project.id, lazy=True)
    mr = project.mergerequests.get(iid, lazy=True)
    await world.sync(lambda: mr.manager.update(iid, {"description": text}))
    await world.settle()


async def test_unreadable_record_needs_owner(world: World) -> None:
    """Once a developer breaks the deploy record in the description, a
    guest's `close` (refused before) is still refused, the reply says the
    record is missing, and the merge request and its branch stay."""
    iid = await world.open_mr("v1.1.0", "production")
    reply = await world.ask("eve", iid, "/gitops close")
    assert "@eve has Guest access; `close` on production needs" in reply

    await edit_description(world, "alice", iid, "Edited by hand.")
    reply = await world.ask("eve", iid, "/gitops close")
    assert (
        f"!{iid} carries no readable deploy record (no record marker in the "
        "description); @eve has Guest"
    ) in reply
    assert "needs Owner. Nothing was done." in reply
    reply = await world.ask("maria", iid, "/gitops close")
    assert "@maria has Maintainer access;" in reply and "needs Owner" in reply

    assert (await world.state_of(iid)).state == "opened"
    names = [b.name for b in await world.sync(world.project.branches.list)]
    assert "gitops/production/web" in names


async def test_refusal_says_why_the_record_is_unreadable(world: World) -> None:
    """A marker a developer broke by hand is named with its problem in the
    Owner-only refusal; the hold label is not added."""
    iid = await world.open_mr("v1.1.0", "production")
    broken = '<!-- gitops-bot:record {"version": 1, "app": 3} -->'
    await edit_description(world, "alice", iid, f"Edited by hand.\n\n{broken}")

    reply = await world.ask("bob", iid, "/gitops hold")

    assert (
        f"!{iid} carries no readable deploy record (field app is 3, not a "
        "string); @bob has Developer access;"
    ) in reply
    assert "needs Owner. Nothing was done." in reply
    assert HOLD_LABEL not in (await world.state_of(iid)).labels


async def test_hold_cancels_gitlab_auto_merge(make_world: MakeWorld) -> None:
    """With `merge_method: gitlab_auto_merge`, `hold` also cancels GitLab's
    auto-merge: a pipeline that passes afterwards (retried outside the bot)
    does not merge the held merge request."""
    world = await make_world(merge_method="gitlab_auto_merge")
    await world.set_result("fail")
    world.sandbox.state.mr_checking_reads = 1_000  # type: ignore[attr-defined]
    iid = await world.open_mr("v1.1.0")
    await set_auto_merge_as_the_bot(world, iid)

    reply = await world.ask("alice", iid, "/gitops hold until the freeze")
    assert "Held by `alice`: until the freeze." in reply
    assert "GitLab's auto-merge was cancelled." in reply
    assert not (await world.state_of(iid)).merge_when_pipeline_succeeds

    await world.set_result("pass")
    (pipeline,) = await world.sync(lambda: world.pipelines(iid))
    await world.retry_pipeline(pipeline.id)
    mr = await world.state_of(iid)
    assert mr.state == "opened" and HOLD_LABEL in mr.labels


async def set_auto_merge_as_the_bot(world: World, iid: int) -> None:
    """Leave ``!iid`` as the gate leaves it when it sets GitLab's auto-merge
    while the head pipeline runs, and end GitLab's mergeability check (the
    test's way to keep the gate from acting until then: the sandbox's
    pipelines finish too fast for the gate to see one running)."""

    def schedule() -> None:
        (record,) = world.sandbox.state.store.find(
            "merge_requests", project_id=world.project.id, iid=iid
        )
        assert record.state == "opened"
        record.merge_when_pipeline_succeeds = True
        record.merge_user_id = world.bot_user_id
        record.checking_reads_left = 0
        world.sandbox.state.mr_checking_reads = 0  # type: ignore[attr-defined]

    await world.sync(lambda: world.sandbox.call(schedule))


async def test_merge_label_by_hand_is_not_a_merge_command(world: World) -> None:
    """On qa (`auto_merge: false`) a developer who adds
    `gitops-merge::requested` by hand merges nothing: only an answered
    `merge` counts; a `merge` command then merges."""
    iid = await world.open_mr("v1.1.0", "qa")
    await world.add_label("mallory", iid, MERGE_REQUESTED_LABEL)
    await world.sweep()
    mr = await world.state_of(iid)
    assert mr.state == "opened" and mr.head_pipeline["status"] == "success"
    assert await world.sync(world.merge_calls) == []

    reply = await world.ask("mallory", iid, "/gitops merge")
    assert reply.endswith(f"Merged !{iid}.")


async def test_hold_label_removed_by_hand_still_holds(world: World) -> None:
    """A hold stays until `unhold`: when a developer takes `gitops::hold` off
    by hand, the bot puts it back and says so once, and a passing pipeline
    does not merge; alice's `unhold` then merges."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")
    await world.ask("alice", iid, "/gitops hold release at noon")
    count = len(await world.sync(lambda: world.bot_notes(iid)))

    await remove_label(world, "mallory", iid, HOLD_LABEL)
    await world.set_result("pass")
    (pipeline,) = await world.sync(lambda: world.pipelines(iid))
    await world.retry_pipeline(pipeline.id)
    await world.sweep()

    mr = await world.state_of(iid)
    assert mr.state == "opened" and HOLD_LABEL in mr.labels
    new = (await world.sync(lambda: world.bot_notes(iid)))[count:]
    assert new == [
        f"The `{HOLD_LABEL}` label was removed, but the hold by `alice` is still "
        "in force: the label is back. `unhold` lifts it."
    ]
    reply = await world.ask("alice", iid, "/gitops unhold")
    assert reply.endswith(f"Hold lifted. Merged !{iid}.")


async def test_unhold_lifts_a_hold_whose_label_is_gone(world: World) -> None:
    """With the label already off (and not yet put back), `unhold` still lifts
    the hold the notes record, and nothing puts the label back after."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")
    await world.ask("alice", iid, "/gitops hold")
    world.control.inject(webhooks="drop", count=10)
    await remove_label(world, "mallory", iid, HOLD_LABEL)
    world.clear_faults()

    reply = await world.ask("bob", iid, "/gitops unhold")
    assert "Hold lifted." in reply
    await world.set_result("pass")
    await world.comment("bob", iid, "/gitops retry")
    mr = await world.state_of(iid)
    assert mr.state == "merged" and HOLD_LABEL not in mr.labels


async def remove_label(world: World, who: str, iid: int, label: str) -> None:
    """``who`` takes ``label`` off ``!iid`` in GitLab, not by a command; settle."""
    project = world.people[who].projects.get(world.project.id, lazy=True)
    mr = project.mergerequests.get(iid, lazy=True)
    await world.sync(lambda: mr.manager.update(iid, {"remove_labels": label}))
    await world.settle()
