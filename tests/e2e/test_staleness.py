"""An approval given before the head's push, by GitLab's clock, does not count."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.sandbox.http import iso
from tests.e2e.world import World


def parse(text: str) -> datetime:
    """A GitLab timestamp (``Z`` or an offset) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def set_approved_at(world: World, mr: Any, user_id: int, moment: datetime) -> None:
    """Make GitLab remember ``user_id``'s approval of ``mr`` as given at ``moment``."""
    store = world.sandbox.state.store

    def rewrite() -> None:
        [approval] = store.find("approvals", mr_id=mr.id, user_id=user_id)
        approval.created_at = iso(moment)

    world.sandbox.call(rewrite)


async def test_an_approval_given_just_before_a_new_tags_push_does_not_count(
    world: World,
) -> None:
    """With approvals kept across pushes, alice's approval dated 1 ms before
    GitLab recorded the new tag's push (yet not before the commit's own date,
    which has whole seconds) does not count; approving again afterwards does."""
    await world.sync(lambda: _keep_approvals_on_push(world))
    iid = await world.open_mr("v1.1.0", "production")
    await world.approve("alice", iid)

    await world.deploy("v1.2.0", "production")
    await world.approve("bob", iid)
    mr = await world.state_of(iid)
    version = await world.sync(lambda: world.mr(iid).diffs.list()[0])
    commit = await world.sync(lambda: world.project.commits.get(mr.sha))
    pushed = parse(version.created_at)
    alice = world.people["alice"].users.list(username="alice")[0].id
    await world.sync(
        lambda: set_approved_at(world, mr, alice, pushed - timedelta(milliseconds=1))
    )
    status = await world.ask("bob", iid, "/gitops status")

    assert version.head_commit_sha == mr.sha and "v1.2.0" in mr.title
    assert parse(commit.committed_date) <= pushed
    assert (await world.state_of(iid)).state == "opened"
    assert "1 of 2 approvals from platform/sre" in status
    assert (
        f"@alice's approval does not count: given before head {mr.sha[:8]} was pushed"
        in status
    )

    theirs = world.people["alice"].projects.get(world.project.id, lazy=True)
    await world.sync(lambda: theirs.mergerequests.get(iid).unapprove())
    await world.approve("alice", iid)
    assert (await world.state_of(iid)).state == "merged"


def _keep_approvals_on_push(world: World) -> None:
    """Turn off GitLab's reset of approvals on push, so old approvals stay."""
    project = world.gl.projects.get(world.project.id)
    project.reset_approvals_on_push = False
    project.save()
