"""More comment commands end to end: repeated lines in one note, refused
auto promotions, lifting a merged pin, and refusals worded for comments."""

from __future__ import annotations

from tests.e2e.build import MakeWorld
from tests.e2e.world import World

HOLD = "gitops::hold"
PRODUCTION = "apps/web/production/kustomization.yaml"


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


async def test_refused_auto_promotion_is_said_once_on_the_staging_mr(
    make_world: MakeWorld,
) -> None:
    """Rolling staging back with force merges, but its auto promotion is
    older than the open production MR: the refusal is commented once on the
    merged staging MR (every webhook delivered twice, then a sweep, say
    nothing more) and production keeps its newer proposal."""
    world = await make_world(auto_promote=True)
    await world.deploy("v3.0.0")
    (production,) = await world.sync(lambda: world.merge_requests("production"))
    world.control.inject(webhooks="duplicate", count=500)

    rollback = (await world.deploy("v2.0.0", force=True))["merge_request"]["iid"]

    assert (await world.state_of(rollback)).state == "merged"
    expected = (
        "Promotion to production refused: tag v2.0.0 is older than v3.0.0 "
        f"proposed in !{production.iid}"
    )
    await world.sweep()
    notes = await world.sync(lambda: world.bot_notes(rollback))
    assert [note for note in notes if note.startswith(expected)] == notes
    assert len(notes) == 1
    text = await world.sync(lambda: world.file(PRODUCTION, "gitops/production/web"))
    assert "newTag: v3.0.0" in text


async def _open_failing(world: World, tag: str = "v1.1.0") -> int:
    """An open staging MR for ``tag`` whose integration-test failed."""
    await world.set_result("fail")
    return await world.open_mr(tag)
