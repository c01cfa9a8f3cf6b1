"""Comment-command permissions end to end: what a commenter may do cannot
be widened by editing the merge request, its labels or its description."""

from __future__ import annotations

from bot.gate.model import HOLD_LABEL
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
    assert f"!{iid} carries no readable deploy record; @eve has Guest" in reply
    assert "needs Owner. Nothing was done." in reply
    reply = await world.ask("maria", iid, "/gitops close")
    assert "@maria has Maintainer access;" in reply and "needs Owner" in reply

    assert (await world.state_of(iid)).state == "opened"
    names = [b.name for b in await world.sync(world.project.branches.list)]
    assert "gitops/production/web" in names


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
