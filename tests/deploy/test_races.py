"""Faults other bots shipped, each against the sandbox's request log: a commit
landing between read and write, an MR that escaped the listing, approval
rules added on every update, a branch deleted to rebuild it, a commit when
nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Config
from bot.deploy import DeployRequest, carry_out, fetch_snapshot, flow, plan_deploy
from bot.policy import OlderTag
from bot.record import DeployRecord, parse_marker, render_marker
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client, create_user
from tests.deploy.conftest import Deployer
from tests.deploy.test_flow import changed_lines, move_target, open_mrs
from tests.gitlab.world import Control, adapter

BRANCH = "gitops/staging/web"
UNRELATED = ("README.md", "# gitops", "# gitops, moved")
TAG_LINES_13 = [
    "-    newTag: v1.2.0  # managed by gitops-bot",
    "+    newTag: v1.3.0  # managed by gitops-bot",
    "-  tag: v1.2.0",
    "+  tag: v1.3.0",
]


def land(project: Any, path: str, old: str, new: str) -> str:
    """A human's commit on main replacing ``old`` by ``new`` in ``path``."""
    text = project.files.raw(file_path=path, ref="main").decode()
    assert old in text
    commit = project.commits.create(
        {"branch": "main", "commit_message": f"Edit {path}",
         "actions": [{"action": "update", "file_path": path,
                      "content": text.replace(old, new)}]}
    )  # fmt: skip
    return commit.id


def mr_diff_lines(project: Any, iid: int) -> list[str]:
    """The +/- lines of the merge request's own diff, as GitLab shows it."""
    changes = project.mergerequests.get(iid).changes()["changes"]
    return [
        line
        for change in changes
        for line in change["diff"].splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def branch_deletions(control: Control) -> list[dict[str, Any]]:
    """Logged requests that deleted a branch."""
    return [
        e for e in control.requests()
        if e["method"] == "DELETE" and "/repository/branches/" in e["path"]
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        UNRELATED,
        # The same file as the bot's edit, another line.
        ("charts/web/values-staging.yaml", "replicaCount: 2", "replicaCount: 3"),
    ],
)
async def test_commit_between_read_and_write(
    run: Deployer, live_config: Config, project: Any, path: str, old: str, new: str
) -> None:
    """A commit landing on the target between the bot's read and its write:
    the branch is "the head we read + this change", the MR's diff holds only
    the tag lines, and the next request rebuilds it onto the new head."""
    request = DeployRequest(app="web", environment="staging", tag="v1.3.0")
    snapshot = await fetch_snapshot(live_config, run.gitlab, request)
    plan = plan_deploy(live_config, request, snapshot)
    moved = land(project, path, old, new)

    first = await carry_out(plan, live_config, run.gitlab)

    iid = first.merge_request.iid
    branch = project.branches.get(BRANCH)
    assert branch.commit["parent_ids"] == [snapshot.head_sha] != [moved]
    assert mr_diff_lines(project, iid) == TAG_LINES_13

    second = await run("v1.3.0")  # a regeneration: same tag, new head

    assert (second.status, second.merge_request.iid) == ("updated", iid)
    assert project.branches.get(BRANCH).commit["parent_ids"] == [moved]
    assert changed_lines(project, BRANCH) == TAG_LINES_13
    assert mr_diff_lines(project, iid) == TAG_LINES_13


async def unlabel(project: Any, iid: int) -> None:
    """A human strips every label from the MR: it escapes the label listing."""
    mr = project.mergerequests.get(iid)
    mr.labels = []
    mr.save()


async def test_unlisted_mr_with_a_newer_tag_is_refused_before_any_write(
    run: Deployer, project: Any, control: Control
) -> None:
    """An open MR on the bot's branch that escaped the label listing, and
    proposes a newer tag, refuses an older one before anything is written."""
    first = await run("v1.5.0")
    iid = first.merge_request.iid
    await unlabel(project, iid)
    head = project.branches.get(BRANCH).commit["id"]
    description = project.mergerequests.get(iid).description
    control.clear_log()

    with pytest.raises(
        OlderTag, match=f"v1.4.0 is older than v1.5.0 proposed in !{iid}"
    ):
        await run("v1.4.0")

    assert project.branches.get(BRANCH).commit["id"] == head
    mr = project.mergerequests.get(iid)
    assert (mr.description, mr.labels) == (description, [])
    # The one write attempted is the branch start GitLab refuses (400).
    assert [(e["method"], e["status"]) for e in control.writes()] == [("POST", 400)]


async def test_unlisted_mr_with_an_older_tag_is_adopted(
    run: Deployer, project: Any
) -> None:
    """The same unlisted MR proposing an older tag is updated in place: same
    iid, labels back, the old tag superseded, no second MR."""
    first = await run("v1.3.0")
    iid = first.merge_request.iid
    await unlabel(project, iid)

    second = await run("v1.4.0")

    assert (second.status, second.merge_request.iid) == ("updated", iid)
    mr = project.mergerequests.get(iid)
    assert {"gitops-bot", "app::web", "env::staging"} <= set(mr.labels)
    assert parse_marker(mr.description).superseded_tags == ("v1.3.0",)
    assert [m.iid for m in open_mrs(project)] == [iid]


async def test_approval_rule_is_added_once_over_two_updates(
    run: Deployer, project: Any, control: Control
) -> None:
    """Premium: open, update twice and regenerate; the MR holds exactly one
    rule of the bot's, created by one POST."""
    control.clear_log()
    first = await run("v1.3.0", environment="production")
    await run("v1.4.0", environment="production")
    move_target(project)
    await run("v1.5.0", environment="production")

    mr = project.mergerequests.get(first.merge_request.iid)
    rules = [(r.name, r.approvals_required) for r in mr.approval_rules.list()]
    assert rules.count(("gitops-bot production", 1)) == 1
    assert control.calls()["POST /projects/:id/merge_requests/:iid/approval_rules"] == 1


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        UNRELATED,
        # A conflicting edit: the tag line the branch changes.
        ("charts/web/values-staging.yaml", "tag: v1.2.0", "tag: v1.2.1"),
    ],
)
async def test_regeneration_never_deletes_the_branch(
    run: Deployer, project: Any, control: Control, path: str, old: str, new: str
) -> None:
    """Rebuilding the branch on a moved or conflicting target is one forced
    commit: no branch DELETE, the MR stays open with the same iid."""
    first = await run("v1.3.0")
    iid = first.merge_request.iid
    moved = land(project, path, old, new)
    control.clear_log()

    again = await run("v1.3.0")
    newer = await run("v1.4.0")

    assert branch_deletions(control) == []
    assert again.merge_request.iid == newer.merge_request.iid == iid
    assert project.mergerequests.get(iid).state == "opened"
    assert project.branches.get(BRANCH).commit["parent_ids"] == [moved]
    assert control.calls()["POST /projects/:id/repository/commits"] == 2


@pytest.mark.parametrize(
    ("before", "replay"),
    [
        ([], {"tag": "v1.2.0"}),  # the deployed tag, no MR
        (["v1.3.0"], {"tag": "v1.3.0"}),
        (["v1.3.0", "v1.4.0"], {"tag": "v1.4.0"}),
        (["v1.3.0"], {"tag": "v1.3.0", "environment": "production"}),
    ],
)
async def test_replay_posts_no_commit(
    run: Deployer, control: Control, before: list[str], replay: dict[str, str]
) -> None:
    """A request with nothing to change makes no commit, and no write at all."""
    environment = replay.get("environment", "staging")
    for tag in before:
        await run(tag, environment=environment)
    control.clear_log()

    await run(**replay)

    commits = [e for e in control.requests() if e["path"].endswith("/commits")]
    assert commits == [] and control.writes() == []


async def test_mr_merged_while_the_deploy_runs_gets_a_new_one(
    run: Deployer, live_config: Config, project: Any
) -> None:
    """The kept MR is merged (with the old tag) between the bot's read and its
    update: GitLab answers the update with a merged MR, so the same request
    plans again and opens a new MR for the new tag instead of answering
    with the merged one."""
    first = await run("v1.3.0")
    old = first.merge_request.iid
    request = DeployRequest(app="web", environment="staging", tag="v1.4.0")
    plan = plan_deploy(
        live_config, request, await fetch_snapshot(live_config, run.gitlab, request)
    )
    assert plan.keep is not None and plan.keep.iid == old
    project.mergerequests.get(old).merge()

    result = await carry_out(plan, live_config, run.gitlab)

    assert result.status == "opened" and result.merge_request.iid != old
    assert result.previous_tag == "v1.3.0"
    assert project.mergerequests.get(old).state == "merged"
    (mr,) = open_mrs(project)
    assert mr.iid == result.merge_request.iid
    assert parse_marker(mr.description).tag == "v1.4.0"
    assert mr_diff_lines(project, mr.iid) == [
        "-    newTag: v1.3.0  # managed by gitops-bot",
        "+    newTag: v1.4.0  # managed by gitops-bot",
        "-  tag: v1.3.0",
        "+  tag: v1.4.0",
    ]


async def test_a_humans_copy_of_the_bots_mr_is_neither_kept_nor_closed(
    run: Deployer, sandbox: SandboxThread, gl: Any, project: Any
) -> None:
    """A developer opens an MR from a branch of their own with a copy of a
    bot record and the key's labels: the deploy opens the bot's own MR and
    leaves the human's alone (not updated as the survivor, not closed)."""
    user, token = create_user(gl, "dev")
    project.members.create({"user_id": user.id, "access_level": 30})
    theirs = client(sandbox, token).projects.get(project.id)
    theirs.branches.create({"branch": "feature/copy", "ref": "main"})
    marker = render_marker(
        DeployRecord("web", "staging", "registry.example.com/shop/web", "v1.3.0")
    )
    copy = theirs.mergerequests.create(
        {"source_branch": "feature/copy", "target_branch": "main",
         "title": "My copy", "description": f"mine\n\n{marker}\n",
         "labels": "gitops-bot,app::web,env::staging"}
    )  # fmt: skip

    result = await run("v1.3.0")

    assert result.status == "opened" and result.merge_request.iid != copy.iid
    mine = project.mergerequests.get(copy.iid)
    assert (mine.state, mine.title) == ("opened", "My copy")
    assert mine.author["id"] == user.id
    assert mine.description == f"mine\n\n{marker}\n"
    assert mine.user_notes_count == 0


async def test_two_job_processes_leave_the_winners_content_on_the_branch(
    run: Deployer, sandbox: SandboxThread, live_config: Config, project: Any
) -> None:
    """Two job processes (no shared locks) race for the key: B (v1.4.0)
    starts the branch, A (v1.3.0) finds no MR on it and rebuilds it, B opens
    its MR, A's create is refused and A adopts B's MR, which refuses A's
    older tag. A rewrites the branch from B's record before raising: the
    branch carries v1.4.0, as the MR says."""
    other = adapter(sandbox.url, sandbox.root_token, live_config.gitlab.project)
    config = live_config

    async def planned(tag: str, gitlab: Any) -> Any:
        request = DeployRequest(app="web", environment="staging", tag=tag)
        return plan_deploy(
            config, request, await fetch_snapshot(config, gitlab, request)
        )

    ours, theirs = await planned("v1.3.0", run.gitlab), await planned("v1.4.0", other)
    commit_branch, create = run.gitlab.commit_branch, run.gitlab.create_merge_request
    steps = {"commit": True, "open": True}

    async def commit_after_theirs(*args: Any, **kwargs: Any) -> Any:
        if steps.pop("commit", False):
            await flow._write_branch(theirs, config, other)
        return await commit_branch(*args, **kwargs)

    async def create_after_theirs(*args: Any, **kwargs: Any) -> Any:
        if steps.pop("open", False):
            await flow._open(theirs, config, other, ())
        return await create(*args, **kwargs)

    run.gitlab.commit_branch = commit_after_theirs  # type: ignore[method-assign]
    run.gitlab.create_merge_request = create_after_theirs  # type: ignore[method-assign]
    try:
        with pytest.raises(OlderTag, match="v1.3.0 is older than v1.4.0 proposed"):
            await carry_out(ours, config, run.gitlab)
    finally:
        other.close()

    assert steps == {}
    (mr,) = open_mrs(project)
    assert parse_marker(mr.description).tag == "v1.4.0"
    assert changed_lines(project, BRANCH) == [
        line.replace("v1.3.0", "v1.4.0") for line in TAG_LINES_13
    ]
