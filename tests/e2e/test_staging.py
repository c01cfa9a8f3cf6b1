"""Staging: a deploy merges itself once its real pipeline passes, without anyone."""

from __future__ import annotations

from tests.e2e.world import World


async def test_deploy_pipeline_passes_merged(world: World) -> None:
    """deploy -> the MR pipeline's integration-test passes -> merged by the bot,
    naming the tested SHA; the target branch carries the new tag."""
    iid = await world.open_mr("v1.1.0")

    mr = await world.state_of(iid)
    (pipeline,) = await world.sync(lambda: world.pipelines(iid))
    assert mr.state == "merged" and mr.merged_by["id"] == world.bot_user_id
    assert (pipeline.status, pipeline.sha) == ("success", mr.sha)
    assert await world.sync(lambda: world.jobs(pipeline.id)) == [
        ("integration-test", "success")
    ]
    text = await world.sync(lambda: world.file("apps/web/staging/kustomization.yaml"))
    assert "newTag: v1.1.0" in text
