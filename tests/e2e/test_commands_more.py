"""More comment commands end to end: repeated lines in one note, refused
auto promotions, lifting a merged pin, and refusals worded for comments."""

from __future__ import annotations

from tests.e2e.world import World

HOLD = "gitops::hold"


async def test_repeated_commands_in_one_note_all_run_and_the_last_wins(
    world: World,
) -> None:
    """On a held MR whose pipeline passed, a note "hold, unhold, hold" answers
    all three lines in order; the `unhold` in the middle merges nothing (a
    later line of its note still waits) and the MR ends held, still open."""
    iid = await _open_failing(world)
    await world.comment("alice", iid, "/gitops hold")
    await world.set_result("pass")
    await world.comment("alice", iid, "/gitops retry")
    assert (await world.state_of(iid)).state == "opened"

    reply = await world.ask("bob", iid, "/gitops hold\n/gitops unhold\n/gitops hold")

    assert reply.count("> `/gitops hold`") == 2
    assert reply.count("> `/gitops unhold`") == 1
    assert reply.count("Held by `bob`.") == 2 and "Hold lifted." in reply
    assert "Not done" not in reply
    await world.sweep()
    mr = await world.state_of(iid)
    assert mr.state == "opened" and HOLD in mr.labels
    assert "`held`: held by `bob`" in await world.ask("bob", iid, "/gitops status")


async def _open_failing(world: World, tag: str = "v1.1.0") -> int:
    """An open staging MR for ``tag`` whose integration-test failed."""
    await world.set_result("fail")
    return await world.open_mr(tag)
