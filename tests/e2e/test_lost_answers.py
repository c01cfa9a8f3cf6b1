"""A merge GitLab made but whose answer was lost counts as the bot's merge:
the promotion follows and the command says merged (sandbox ``after`` faults:
the merge is made, then its answer is a 502 or a dropped connection)."""

from __future__ import annotations

import pytest

from tests.e2e.build import MakeWorld
from tests.e2e.world import World

MERGE = r"/merge$"
DROPPED = 499  # what the sandbox's request log records for a dropped connection


async def test_lost_merge_answer_still_auto_promotes(make_world: MakeWorld) -> None:
    """The staging merge answered 502 after merging; the retry's 405 is read
    as our merge, so production's MR opens for the same tag."""
    world = await make_world(auto_promote=True)
    world.control.inject(method="PUT", path=MERGE, after=True, status=502)

    iid = await world.open_mr("v1.1.0")

    assert (await world.state_of(iid)).state == "merged"
    assert [call["status"] for call in world.merge_calls()] == [502, 405]
    (promoted,) = await world.sync(lambda: world.merge_requests("production"))
    assert promoted.state == "opened" and "v1.1.0" in promoted.title


@pytest.mark.parametrize("fault", [{"status": 502}, {"drop": True}])
async def test_merge_command_with_lost_answer_replies_merged(
    world: World, fault: dict[str, object]
) -> None:
    """`/gitops merge` on qa: the merge happened but its answer was lost; the
    reply says merged, not "Not merged yet"."""
    iid = await world.open_mr("v1.1.0", "qa")
    world.control.inject(method="PUT", path=MERGE, after=True, **fault)

    reply = await world.ask("mallory", iid, "/gitops merge")

    assert reply == f"> `/gitops merge`\n\nMerged !{iid}."
    statuses = [call["status"] for call in world.merge_calls()]
    assert statuses == [fault.get("status", DROPPED), 405]
