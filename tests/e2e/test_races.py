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
