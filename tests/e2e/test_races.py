"""Races between the gate, the API and humans, on the offline GitLab."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.record import parse_marker
from bot.server import keys
from tests.e2e.world import World

STAGING = "apps/web/staging/kustomization.yaml"
KEY = ("web", "staging")


async def edit_main(world: World, path: str, old: str, new: str) -> None:
    """A human's commit on main replacing ``old`` by ``new`` in ``path``."""

    def commit() -> Any:
        text = world.file(path)
        assert old in text
        action = {"action": "update", "file_path": path,
                  "content": text.replace(old, new)}  # fmt: skip
        return world.project.commits.create(
            {"branch": "main", "commit_message": "By hand", "actions": [action]}
        )

    await world.sync(commit)


async def test_gate_rebuild_holds_the_servers_empty_lock_map(world: World) -> None:
    """The gate's rebuild of a branch, started while the server's deploy
    lock map is empty, holds the server's lock of the key: a deploy of the
    API arriving meanwhile waits until the rebuild is over (the bug used
    locks of the gate's own, so the two wrote the branch at once)."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")
    record = parse_marker((await world.state_of(iid)).description)
    assert record is not None
    locks = world.bot_app[keys.LOCKS]
    context = world.bot_app[keys.INTAKE]._make_context("e2e-race")
    assert locks.users(KEY) == 0

    rebuild = asyncio.create_task(world.gate.regenerate(context, record))
    while not rebuild.done() and locks.users(KEY) == 0:
        await asyncio.sleep(0)
    assert not rebuild.done() and locks.users(KEY) == 1

    async with locks.hold(KEY):
        assert rebuild.done()
    result = rebuild.result()
    assert result.merge_request is not None and result.merge_request.iid == iid
    assert locks.users(KEY) == 0


async def test_rebuild_never_rolls_back_a_target_moved_by_hand(world: World) -> None:
    """The staging MR for v1.2.0 waits on a failed pipeline; main gets v1.3.0
    by hand, so the MR conflicts. The gate's rebuild is not forced: the MR is
    closed with a note naming the newer tag, and main keeps v1.3.0."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.2.0")
    await edit_main(world, STAGING, "newTag: v1.0.0", "newTag: v1.3.0")
    await world.set_result("pass")

    await world.sweep()

    mr = await world.state_of(iid)
    assert mr.state == "closed"
    assert "newTag: v1.3.0" in await world.sync(lambda: world.file(STAGING))
    note = (await world.sync(lambda: world.bot_notes(iid)))[-1]
    assert note.startswith(
        "Closed by gitops-bot: the target branch already has a newer tag than `v1.2.0`"
    )
    assert "older than v1.3.0 deployed on" in note


async def test_rebuild_of_a_forced_rollback_stands_while_the_target_is_unchanged(
    world: World,
) -> None:
    """A forced rollback to v1.0.0 over v1.1.0 conflicts with a comment added
    by hand on the tag's line; its rebuild keeps the rollback (the target
    still holds the tag it replaced) instead of closing it."""
    await world.deploy("v1.1.0")
    await world.set_result("fail")
    iid = (await world.deploy("v1.0.0", force=True))["merge_request"]["iid"]
    await edit_main(world, STAGING, "newTag: v1.1.0", "newTag: v1.1.0  # by hand")

    await world.sweep()

    assert (await world.state_of(iid)).state == "opened"
    branch = await world.sync(lambda: world.file(STAGING, "gitops/staging/web"))
    assert "newTag: v1.0.0  # by hand" in branch
