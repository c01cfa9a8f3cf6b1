"""Merging end to end: `merge`, freezes, GitLab's `checking`, close, recreate."""

from __future__ import annotations

from bot.gate.model import MERGE_REQUESTED_LABEL
from tests.e2e.world import World

QA = "apps/web/qa/kustomization.yaml"


async def test_merge_command_on_an_environment_without_auto_merge(
    world: World,
) -> None:
    """qa (`auto_merge: false`) waits after its pipeline passed, `status` says
    why; a developer's `/gitops merge` merges it."""
    iid = await world.open_mr("v1.1.0", "qa")
    assert (await world.state_of(iid)).state == "opened"
    status = await world.ask("mallory", iid, "/gitops status")
    assert "`auto_merge_disabled`: qa merges on a `merge` command only" in status

    reply = await world.ask("mallory", iid, "/gitops merge")
    assert reply == f"> `/gitops merge`\n\nMerged !{iid}."
    assert (await world.state_of(iid)).state == "merged"
    assert "newTag: v1.1.0" in await world.sync(lambda: world.file(QA))


async def test_merge_command_remembered_until_the_pipeline_passes(
    world: World,
) -> None:
    """A `merge` while integration-test fails is remembered with a label; once
    a retry passes, the bot merges without another command. A new tag drops
    the label: the command was for the old one."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0", "qa")
    reply = await world.ask("mallory", iid, "/gitops merge")
    assert "The head pipeline failed." in reply
    assert f"Labelled `{MERGE_REQUESTED_LABEL}`: the bot merges once" in reply
    assert MERGE_REQUESTED_LABEL in (await world.state_of(iid)).labels

    await world.deploy("v1.2.0", "qa")
    assert MERGE_REQUESTED_LABEL not in (await world.state_of(iid)).labels
    await world.comment("mallory", iid, "/gitops merge")

    await world.set_result("pass")
    await world.comment("alice", iid, "/gitops retry")
    mr = await world.state_of(iid)
    assert mr.state == "merged" and "v1.2.0" in mr.title
    assert "newTag: v1.2.0" in await world.sync(lambda: world.file(QA))


async def test_freeze_blocks_and_merge_needs_the_override_level(
    world: World,
) -> None:
    """canary is frozen all week: a passing MR waits and `status` says so; a
    developer's `merge` is refused naming the override level; a
    maintainer's `merge` goes through the freeze."""
    iid = await world.open_mr("v1.1.0", "canary")
    mr = await world.state_of(iid)
    assert mr.state == "opened" and mr.head_pipeline["status"] == "success"
    status = await world.ask("alice", iid, "/gitops status")
    assert (
        "`frozen`: canary is frozen (freeze window "
        "mon,tue,wed,thu,fri,sat,sun 00:00-24:00 UTC) until further notice"
    ) in status

    reply = await world.ask("mallory", iid, "/gitops merge")
    assert "@mallory has Developer access;" in reply and "needs Maintainer" in reply
    assert (await world.state_of(iid)).state == "opened"

    reply = await world.ask("maria", iid, "/gitops merge")
    assert reply.endswith(f"Merged !{iid}.")
    assert (await world.state_of(iid)).state == "merged"


async def test_no_merge_while_gitlab_says_checking(world: World) -> None:
    """While GitLab answers `checking`, a passing MR is not merged (no merge
    call at all) and `status` says why; once the check ends, it merges."""
    world.sandbox.state.mr_checking_reads = 1_000  # type: ignore[attr-defined]
    iid = await world.open_mr("v1.1.0")

    mr = await world.state_of(iid)
    assert mr.state == "opened" and mr.head_pipeline["status"] == "success"
    assert await world.sync(world.merge_calls) == []
    status = await world.ask("alice", iid, "/gitops status")
    assert "`checking`: GitLab is still checking mergeability" in status

    def end_the_check() -> None:
        (record,) = world.sandbox.state.store.find(
            "merge_requests", project_id=world.project.id, iid=iid
        )
        record.checking_reads_left = 0
        world.sandbox.state.mr_checking_reads = 0  # type: ignore[attr-defined]

    await world.sync(lambda: world.sandbox.call(end_the_check))
    await world.sweep()
    assert (await world.state_of(iid)).state == "merged"
    assert len(await world.sync(world.merge_calls)) == 1


async def test_status_on_a_merged_mr(world: World) -> None:
    """`/gitops status` on a merge request the bot merged says it is merged,
    and lists nothing to wait for."""
    iid = await world.open_mr("v1.1.0")
    assert (await world.state_of(iid)).state == "merged"

    status = await world.ask("alice", iid, "/gitops status")
    assert f"**Merge gate for !{iid} (staging)**: merged; nothing to do" in status
    assert f"Why:\n\n- `not_open`: !{iid} is merged, not open" in status
    assert "Blocking" not in status and "waiting" not in status


async def test_close_closes_and_deletes_the_branch(world: World) -> None:
    """`/gitops close` closes the MR and deletes its branch."""
    iid = await world.open_mr("v1.1.0", "production")
    reply = await world.ask("alice", iid, "/gitops close")

    assert reply.endswith(f"Closed !{iid} and deleted `gitops/production/web`.")
    assert (await world.state_of(iid)).state == "closed"
    names = [b.name for b in await world.sync(world.project.branches.list)]
    assert names == ["main"]


async def test_recreate_rebuilds_and_status_explains_dropped_approvals(
    world: World,
) -> None:
    """After main moves, `recreate` rebuilds the branch on main's head; GitLab
    drops alice's approval on that push, and `status` says so."""
    iid = await world.open_mr("v1.1.0", "production")
    await world.approve("alice", iid)
    await world.sync(
        lambda: world.project.files.create(
            {
                "file_path": "README.ops",
                "branch": "main",
                "content": "ops\n",
                "commit_message": "Unrelated change",
            }
        )  # fmt: skip
    )
    main = (await world.sync(lambda: world.branch_head("main")))["id"]

    reply = await world.ask("alice", iid, "/gitops recreate")
    head = await world.sync(lambda: world.branch_head("gitops/production/web"))
    assert f"Rebuilt the branch on the target head: commit `{head['id']}`." in reply
    assert head["parent_ids"] == [main]

    status = await world.ask("bob", iid, "/gitops status")
    assert "`approvals_missing`: 0 of 2 approvals from platform/sre" in status
    assert f"approvals reset when the branch changes; head {head['id'][:8]}" in status
    assert (await world.state_of(iid)).state == "opened"
