"""A bot killed between its commit and the merge request, then asked again."""

from __future__ import annotations

from tests.e2e.build import MakeWorld

BRANCH = "gitops/staging/web"
MR_CREATE = r"/merge_requests$"


async def test_commit_without_mr_then_the_same_request_opens_one(
    make_world: MakeWorld,
) -> None:
    """The MR-create call never reaches GitLab: the caller gets a 503 while the
    commit exists; the same request again opens exactly one MR whose branch
    is still one commit on the target head, and it merges."""
    world = await make_world(retry_deadline_seconds=0.3)
    world.control.inject(method="POST", path=MR_CREATE, drop=True, count=10_000)
    main = (await world.sync(lambda: world.branch_head("main")))["id"]

    status, answer = await world.post_deploy("v1.1.0")
    assert status == 503, answer
    assert "create_merge_request" in answer["message"]
    written = await world.sync(lambda: world.branch_head(BRANCH))
    assert written["parent_ids"] == [main]
    assert await world.sync(lambda: world.merge_requests("staging")) == []

    await world.sync(world.clear_faults)
    status, answer = await world.post_deploy("v1.1.0")
    assert (status, answer["status"]) == (201, "opened")
    # The branch is rebuilt (force) from the same head: still one commit on
    # it. TODO: reuse the orphan commit once the adapter's Branch carries the
    # commit message to compare (today its SHA changes).
    head = await world.sync(lambda: world.branch_head(BRANCH))
    assert head["parent_ids"] == [main] and head["id"] == answer["commit"]
    await world.settle()

    (mr,) = await world.sync(lambda: world.merge_requests("staging"))
    assert mr.state == "merged" and mr.sha == head["id"]
    text = await world.sync(lambda: world.file("apps/web/staging/kustomization.yaml"))
    assert "newTag: v1.1.0" in text
