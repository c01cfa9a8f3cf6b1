"""Promotion end to end: `promote <env>` and auto promotion after a merge."""

from __future__ import annotations

from tests.e2e.build import MakeWorld
from tests.e2e.world import World

PRODUCTION = "apps/web/production/kustomization.yaml"


async def test_promote_needs_the_target_environments_level(world: World) -> None:
    """`promote production` on a staging MR is refused to a developer, since
    production asks maintainers to promote, and nothing opens; a maintainer's
    opens the production MR with the same tag."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")

    reply = await world.ask("mallory", iid, "/gitops promote production")
    assert "@mallory has Developer access; `promote` on production needs" in reply
    assert await world.sync(lambda: world.merge_requests("production")) == []

    reply = await world.ask("maria", iid, "/gitops promote production")
    (promoted,) = await world.sync(lambda: world.merge_requests("production"))
    assert f"Promotion to production: opened in !{promoted.iid} (`v1.1.0`)." in reply
    text = await world.sync(lambda: world.file(PRODUCTION, "gitops/production/web"))
    assert "newTag: v1.1.0" in text and promoted.state == "opened"


async def test_staging_merge_auto_promotes_to_production(
    make_world: MakeWorld,
) -> None:
    """With `promote_to: production` and `auto_promote`, the bot's staging merge
    opens the production MR for the same tag, which waits for its approvals."""
    world = await make_world(auto_promote=True)
    iid = await world.open_mr("v1.1.0")

    assert (await world.state_of(iid)).state == "merged"
    (listed,) = await world.sync(lambda: world.merge_requests("production"))
    promoted = await world.state_of(listed.iid)
    assert promoted.state == "opened" and "v1.1.0" in promoted.title
    assert promoted.head_pipeline["status"] == "success"
    assert "env::production" in promoted.labels
    status = await world.ask("alice", promoted.iid, "/gitops status")
    assert "`approvals_missing`: 0 of 2 approvals from platform/sre" in status
