"""Comment-command permissions end to end: what a commenter may do cannot
be widened by editing the merge request, its labels or its description."""

from __future__ import annotations

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
