"""More comment commands end to end: repeated lines in one note, refused
auto promotions, lifting a merged pin, and refusals worded for comments."""

from __future__ import annotations

from bot.chatops.pins import PIN_PREFIX
from tests.e2e.build import MakeWorld
from tests.e2e.world import World

HOLD = "gitops::hold"
STAGING = "apps/web/staging/kustomization.yaml"
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


async def test_a_merged_pin_is_lifted_by_unpin_on_its_merge_request(
    world: World,
) -> None:
    """Once a pin merged, a deploy's refusal says where to comment; `unpin`
    on the merged pin MR opens a new MR that drops the pin line and keeps the
    pinned tag; once that merges, deploys are accepted again. A guest may not."""
    iid = await _open_failing(world, "v1.2.0")
    await world.comment("alice", iid, "/gitops pin v1.1.0 broken checkout")
    await world.set_result("pass")
    await world.comment("alice", iid, "/gitops retry")
    assert (await world.state_of(iid)).state == "merged"
    status, answer = await world.post_deploy("v1.3.0")
    assert status == 409
    assert (
        "; to lift it, comment `/gitops unpin` on the merge request that "
        "pinned it, or deploy with force" in answer["message"]
    )

    refused = await world.ask("eve", iid, "/gitops unpin")
    assert "@eve has Guest access; `unpin` on staging needs" in refused
    reply = await world.ask("bob", iid, "/gitops unpin")

    (unpinning,) = [
        mr for mr in await world.sync(lambda: world.merge_requests("staging"))
        if mr.iid != iid
    ]  # fmt: skip
    assert reply == (
        "> `/gitops unpin`\n\nThe pin is removed once it merges: "
        f"opened in !{unpinning.iid} (`v1.1.0`)."
    )
    assert (await world.state_of(unpinning.iid)).state == "merged"
    text = await world.sync(lambda: world.file(STAGING))
    assert "newTag: v1.1.0" in text and PIN_PREFIX not in text
    assert (await world.deploy("v1.3.0"))["status"] == "opened"


async def test_a_pin_proposed_in_an_open_mr_names_it_in_the_refusal(
    world: World,
) -> None:
    """A deploy refused by a pin still proposed in an open MR names that MR
    as the place to comment `unpin`; nothing new opens."""
    iid = await _open_failing(world, "v1.2.0")
    await world.comment("alice", iid, "/gitops pin v1.1.0")

    status, answer = await world.post_deploy("v1.3.0")

    assert status == 409
    assert answer["message"].endswith(
        f"; to lift it, comment `/gitops unpin` on !{iid}, or deploy with force"
    )
    assert len(await world.sync(lambda: world.merge_requests("staging"))) == 1


async def test_promote_of_an_older_tag_is_refused_in_comment_terms(
    world: World,
) -> None:
    """`promote production` from a staging MR older than production's open MR
    is refused with what a commenter can do (no `force` in comments); the
    production MR keeps its tag."""
    await world.deploy("v2.0.0", "production")
    iid = await _open_failing(world, "v1.1.0")

    reply = await world.ask("maria", iid, "/gitops promote production")

    assert "Not done: tag v1.1.0 is older than v2.0.0 proposed in !" in reply
    assert reply.endswith("; a rollback needs a forced deploy or `/gitops pin <tag>`")
    assert "pass force" not in reply
    text = await world.sync(lambda: world.file(PRODUCTION, "gitops/production/web"))
    assert "newTag: v2.0.0" in text


async def _open_failing(world: World, tag: str = "v1.1.0") -> int:
    """An open staging MR for ``tag`` whose integration-test failed."""
    await world.set_result("fail")
    return await world.open_mr(tag)
