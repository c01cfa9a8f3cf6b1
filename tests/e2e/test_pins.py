"""Pins end to end: a reviewed rollback that later deploys must respect."""

from __future__ import annotations

from bot.chatops.pins import PIN_PREFIX
from tests.e2e.world import World

MANIFEST = "apps/web/staging/kustomization.yaml"
BRANCH = "gitops/staging/web"


async def _pin_on_failing_mr(world: World) -> int:
    """An open staging MR for v1.2.0 (its pipeline failing), pinned to v1.1.0."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.2.0")
    reply = await world.ask("alice", iid, "/gitops pin v1.1.0 broken checkout")
    assert "Pinned to `v1.1.0` by alice: broken checkout once this merges" in reply
    assert f"updated in !{iid} (`v1.1.0`)" in reply
    return iid


async def _pass_and_merge(world: World, iid: int) -> None:
    """Let integration-test pass, retry it, and see the MR merged."""
    await world.set_result("pass")
    await world.comment("alice", iid, "/gitops retry")
    assert (await world.state_of(iid)).state == "merged"


async def test_pin_merged_then_deploys_refused_naming_who_and_why(
    world: World,
) -> None:
    """`pin <tag> [reason]` re-targets the MR and records the pin in it; once
    merged, a later deploy is refused 409 naming who pinned and why, and a
    forced deploy passes and lifts the pin."""
    iid = await _pin_on_failing_mr(world)
    branch_text = await world.sync(lambda: world.file(MANIFEST, BRANCH))
    assert "newTag: v1.1.0" in branch_text and PIN_PREFIX in branch_text
    await _pass_and_merge(world, iid)
    main_text = await world.sync(lambda: world.file(MANIFEST))
    assert "newTag: v1.1.0" in main_text and '"by":"alice"' in main_text

    status, answer = await world.post_deploy("v1.3.0")
    assert status == 409, answer
    assert "v1.1.0 by alice: broken checkout" in answer["message"]
    assert len(await world.sync(lambda: world.merge_requests("staging"))) == 1

    forced = await world.deploy("v1.3.0", force=True)
    assert forced["status"] == "opened"
    main_text = await world.sync(lambda: world.file(MANIFEST))
    assert "newTag: v1.3.0" in main_text and PIN_PREFIX not in main_text


async def test_unpin_removes_the_pin_in_the_same_mr(world: World) -> None:
    """`unpin` drops the pin line from the MR's branch and keeps the tag; once
    merged, deploys are accepted again."""
    iid = await _pin_on_failing_mr(world)
    reply = await world.ask("bob", iid, "/gitops unpin")
    assert f"The pin is removed once this merges: updated in !{iid}" in reply
    branch_text = await world.sync(lambda: world.file(MANIFEST, BRANCH))
    assert "newTag: v1.1.0" in branch_text and PIN_PREFIX not in branch_text

    await _pass_and_merge(world, iid)
    assert PIN_PREFIX not in await world.sync(lambda: world.file(MANIFEST))
    assert (await world.deploy("v1.3.0"))["status"] == "opened"
