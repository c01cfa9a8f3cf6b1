"""Whose approval counts, end to end: the person who ran the deploy's pipeline.

shop/web's CI deploys with a GitLab ID token minted by the offline GitLab for
a pipeline that alice started; alice then approves her own production deploy.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.ci import tokens
from bot.server import keys
from tests.e2e.world import World

AUDIENCE = "https://gitops-bot.e2e.example"  # tests/data/e2e/bot.yaml


def id_token(world: World, user_login: str) -> str:
    """An ID token of a shop/web tag pipeline that ``user_login`` started."""
    identity = tokens.JobIdentity(
        issuer=world.sandbox.url, project_id=900, project_path="shop/web",
        namespace_id=900, namespace_path="shop", user_id=1, user_login=user_login,
        user_email=f"{user_login}@example.com", pipeline_id=1,
        pipeline_source="push", job_id=1, ref="v1.1.0", ref_type="tag",
        ref_protected=True, sha="0" * 40,
    )  # fmt: skip
    claims = tokens.id_token_claims(identity, AUDIENCE)
    return world.sandbox.call(lambda: world.sandbox.state.ci.keys.sign(claims))


async def deploy_as(world: World, user_login: str, tag: str) -> dict[str, Any]:
    """POST a production deploy of ``tag`` with ``user_login``'s ID token."""
    session = world.bot_app[keys.HTTP_SESSION]
    async with session.post(
        f"{world.bot_url}/api/v1/deployments",
        json={"app": "web", "environment": "production", "tag": tag},
        headers={"Authorization": f"Bearer {id_token(world, user_login)}"},
    ) as answer:
        body = await answer.json()
        assert answer.status == 201, body
    await world.settle()
    return body


async def test_the_requester_cannot_approve_their_own_deploy(world: World) -> None:
    """alice's pipeline requested the deploy: her approval does not count, so
    alice and bob (both SRE) leave production one approval short."""
    iid = (await deploy_as(world, "alice", "v1.1.0"))["merge_request"]["iid"]

    await world.approve("alice", iid)
    await world.approve("bob", iid)

    assert (await world.state_of(iid)).state == "opened"
    status = await world.ask("bob", iid, "/gitops status")
    assert "1 of 2 approvals from platform/sre" in status
    assert "@alice's approval does not count: they requested this deploy" in status
