"""The bot's branch is only ever "target head + the bot's change": a commit
someone else pushes onto it is never merged; the gate rebuilds the branch
and says so once."""

from __future__ import annotations

from typing import Any

from tests.e2e.world import World

BRANCH = "gitops/staging/web"
MANIFEST = "apps/web/staging/kustomization.yaml"


async def push_as(world: World, who: str, env: str = "staging") -> str:
    """``who`` adds a line to the manifest on the bot's branch of ``env``
    (no settle); return the commit's SHA."""
    branch, path = f"gitops/{env}/web", f"apps/web/{env}/kustomization.yaml"
    text = await world.sync(lambda: world.file(path, branch))
    project = world.people[who].projects.get(world.project.id, lazy=True)
    data: dict[str, Any] = {
        "branch": branch,
        "commit_message": "hotfix the manifest",
        "actions": [
            {"action": "update", "file_path": path, "content": text + "# replicas: 0\n"}
        ],
    }
    return (await world.sync(lambda: project.commits.create(data))).id


async def test_commit_pushed_onto_the_bot_branch_is_not_merged(world: World) -> None:
    """mallory edits the manifest on the bot's branch while the MR pipeline
    runs: her commit never reaches main; the branch is rebuilt from main +
    the bot's change and merged; one comment names her commit."""
    status, body = await world.post_deploy("v1.1.0")
    assert status in (200, 201), body
    iid = body["merge_request"]["iid"]
    theirs = await push_as(world, "mallory")
    await world.settle()

    mr = await world.state_of(iid)
    main = await world.sync(lambda: world.file(MANIFEST))
    assert mr.state == "merged" and mr.sha != theirs
    assert "newTag: v1.1.0" in main and "replicas: 0" not in main
    merged = await world.sync(lambda: world.project.commits.get(mr.sha))
    assert theirs not in merged.parent_ids
    notes = [n for n in await world.sync(lambda: world.bot_notes(iid)) if theirs in n]
    assert notes == [
        f"A commit not written by the bot (`{theirs}`) was pushed to `{BRANCH}`; "
        "the branch was rebuilt from `main` + this change. Propose changes in a "
        "merge request of your own."
    ]


async def test_status_names_the_foreign_commit(world: World) -> None:
    """The gate never heard of the push (its webhooks lost): ``status`` says
    the head is not the bot's commit and will not be merged; the next gate
    run rebuilds the branch from main."""
    iid = await world.open_mr("v1.1.0", "production")
    world.control.inject(webhooks="drop", count=10)
    theirs = await push_as(world, "mallory", "production")
    await world.settle()
    world.clear_faults()

    reply = await world.ask("alice", iid, "/gitops status")
    outcome = await world.run_restarted_gate(iid)

    assert f"a commit not written by the bot (`{theirs[:8]}`)" in reply
    assert "never merged" in reply
    assert outcome.action == "regenerated"
    head = await world.sync(lambda: world.branch_head("gitops/production/web"))
    main = await world.sync(lambda: world.branch_head("main"))
    assert head["parent_ids"] == [main["id"]]
