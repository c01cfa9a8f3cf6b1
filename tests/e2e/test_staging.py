"""Staging: a deploy merges itself once its pipeline passes, without anyone."""

from __future__ import annotations

from tests.e2e.conftest import World


async def test_deploy_pipeline_passes_merged(world: World) -> None:
    """deploy -> MR pipeline passes -> merged by the bot, naming the tested SHA."""
    answer = await world.deploy("v1.1.0")
    iid = answer["merge_request"]["iid"]
    assert (await world.sync(lambda: world.mr(iid))).state == "opened"

    await world.finish_pipeline(iid, "success")

    mr = await world.sync(lambda: world.mr(iid))
    assert mr.state == "merged"
    assert mr.merged_by["id"] == world.bot_user_id
