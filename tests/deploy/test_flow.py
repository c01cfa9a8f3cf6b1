"""The deploy flow against the sandbox over real HTTP, with real git."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Config, UnknownName
from bot.errors import InvalidInput
from bot.policy import OlderTag
from bot.record import Source, parse_marker
from bot.sandbox.server import SandboxThread
from tests.deploy.conftest import Deployer, with_gitlab
from tests.gitlab.world import Control, adapter, seed_source_project

LABELS = {"gitops-bot", "app::web", "env::staging", "team::deploy"}


def changed_lines(project: Any, branch: str) -> list[str]:
    """The +/- lines between the target head and ``branch``."""
    compare = project.repository_compare("main", branch)
    return [
        line
        for diff in compare["diffs"]
        for line in diff["diff"].splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def open_mrs(project: Any) -> list[Any]:
    """Every open merge request of the project."""
    return project.mergerequests.list(state="opened", get_all=True)


def move_target(project: Any, path: str = "README.md") -> str:
    """Land an unrelated commit on main; return the new head SHA."""
    commit = project.commits.create(
        {
            "branch": "main",
            "commit_message": "Unrelated change",
            "actions": [
                {"action": "update", "file_path": path, "content": "# moved\n"}
            ],
        }
    )
    return commit.id


async def test_new_merge_request(run: Deployer, project: Any, control: Control) -> None:
    """A first request opens one MR: labels, marker, only the tag lines."""
    control.clear_log()
    result = await run("v1.3.0", requested_by="ci")

    assert result.status == "opened" and result.previous_tag == "v1.2.0"
    mr = project.mergerequests.get(result.merge_request.iid)
    assert set(mr.labels) == LABELS and mr.title == "Deploy web v1.3.0 to staging"
    record = parse_marker(mr.description)
    assert (record.app, record.environment, record.tag) == ("web", "staging", "v1.3.0")
    assert changed_lines(project, "gitops/staging/web") == [
        "-    newTag: v1.2.0  # managed by gitops-bot",
        "+    newTag: v1.3.0  # managed by gitops-bot",
        "-  tag: v1.2.0",
        "+  tag: v1.3.0",
    ]


async def test_update_regenerates_on_a_moved_target(
    run: Deployer, project: Any, control: Control
) -> None:
    """A newer tag updates the same MR; the branch is rebuilt on the new head."""
    first = await run("v1.3.0")
    head = move_target(project)
    control.clear_log()

    second = await run("v1.4.0")

    assert second.status == "updated"
    assert second.merge_request == first.merge_request
    branch = project.branches.get("gitops/staging/web")
    assert branch.commit["parent_ids"] == [head]
    mr = project.mergerequests.get(first.merge_request.iid)
    assert mr.state == "opened" and mr.title == "Deploy web v1.4.0 to staging"
    assert parse_marker(mr.description).superseded_tags == ("v1.3.0",)
    assert len(open_mrs(project)) == 1


@pytest.mark.parametrize(
    ("changelog", "budget"),
    [
        # open, update (+ the bot's user, once per adapter), regenerate on a
        # moved target (its record names the new commit: one update), replay
        (False, [4, 5, 5, 3]),
        (True, [5, 6, 5, 3]),
    ],
)
async def test_calls_per_request(
    sandbox: SandboxThread,
    live_config: Config,
    gl: Any,
    project: Any,
    control: Control,
    changelog: bool,
    budget: list[int],
) -> None:
    """One manifest file, the source project readable. Changelog off: 4 calls
    to open, 4 to update (and the bot's user, read once: the first MR listed
    is checked to be the bot's), 5 to regenerate on a moved target (the record
    names the new commit), 3 (all
    reads) for a replay. On: one compare more to open and to update, none more to
    regenerate the same tag or to replay."""
    seed_source_project(gl, "shop/api", {"v1.2.0": [], "v1.3.0": ["A"],
                                         "v1.4.0": ["B"]})  # fmt: skip
    config = with_gitlab(live_config, changelog=changelog)
    client = adapter(sandbox.url, sandbox.root_token, config.gitlab.project)
    run = Deployer(config, client)
    counts = []
    for step in ("v1.3.0", "v1.4.0", "move", "v1.4.0", "v1.4.0"):
        if step == "move":
            move_target(project)
            continue
        control.clear_log()
        await run(step, app="api", source=Source(project="shop/api"))
        counts.append(control.calls())
    client.close()

    assert [sum(count.values()) for count in counts] == budget, counts
    assert counts[0] == {
        "GET /projects/:id/repository/files/:file_path": 1,
        "GET /projects/:id/merge_requests": 1,
        "POST /projects/:id/repository/commits": 1,
        "POST /projects/:id/merge_requests": 1,
        **({"GET /projects/:id/repository/compare": 1} if changelog else {}),
    }
    assert counts[1]["PUT /projects/:id/merge_requests/:iid"] == 1
    assert counts[1]["GET /user"] == 1 and "GET /user" not in counts[2]
    assert all(key.startswith("GET") for key in counts[3])


async def test_unchanged_writes_nothing(run: Deployer, control: Control) -> None:
    """The deployed tag with no open MR answers unchanged without any write."""
    control.clear_log()
    result = await run("v1.2.0")

    assert result.status == "unchanged" and result.merge_request is None
    assert control.writes() == []


async def test_replayed_request_commits_nothing(
    run: Deployer, project: Any, control: Control
) -> None:
    """The same request twice: the second writes nothing and keeps the MR."""
    first = await run("v1.3.0")
    control.clear_log()

    second = await run("v1.3.0")

    assert second.status == "unchanged"
    assert second.merge_request == first.merge_request
    assert control.writes() == []


async def test_rollback_needs_force(
    run: Deployer, project: Any, control: Control
) -> None:
    """An older tag is refused with nothing written; with force it opens an MR."""
    control.clear_log()
    with pytest.raises(OlderTag, match="v1.1.0 is older than v1.2.0 deployed"):
        await run("v1.1.0")
    assert control.writes() == []

    result = await run("v1.1.0", force=True)
    assert result.status == "opened" and result.tag == "v1.1.0"


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"app": "shop"}, UnknownName, "unknown app 'shop'"),
        ({"environment": "qa"}, UnknownName, "unknown environment 'qa'"),
        ({"tag": "v1.3.0;rm"}, InvalidInput, "invalid tag"),
        ({"tag": None, "digest": "md5:00"}, InvalidInput, "invalid digest"),
    ],
)
async def test_refused_input_makes_no_call(
    run: Deployer, control: Control, fields: dict, error: type, message: str
) -> None:
    """Unknown names and malformed tags are refused before any GitLab call."""
    control.clear_log()
    with pytest.raises(error, match=message):
        await run(**{"tag": "v1.3.0", **fields})
    assert control.requests() == []


async def test_dry_run_answers_the_diff_only(run: Deployer, control: Control) -> None:
    """A dry run returns the diff it would commit and writes nothing."""
    control.clear_log()
    result = await run("v1.3.0", dry_run=True)

    assert result.dry_run and result.status == "opened" and result.commit is None
    assert "+    newTag: v1.3.0" in result.diff and "+  tag: v1.3.0" in result.diff
    assert control.writes() == []


async def test_dotted_path(run: Deployer, project: Any) -> None:
    """A manifest under apps/my.app/ is read, edited and committed."""
    result = await run("v2.0.0", app="api")

    assert result.status == "opened"
    assert changed_lines(project, "gitops/staging/api") == [
        "-  tag: v1.2.0",
        "+  tag: v2.0.0",
    ]


async def test_storms_leave_one_mr_and_one_commit(
    run: Deployer, project: Any, control: Control
) -> None:
    """5xx, 429 and dropped answers on every step: one MR, one commit."""
    control.inject(method="GET", path="repository/files", status=503, count=3)
    control.inject(method="GET", path="merge_requests", status=429, retry_after=0,
                   count=2)  # fmt: skip
    control.inject(method="POST", path="repository/commits", status=502, count=2)
    control.inject(method="POST", path="merge_requests$", drop=True, count=1)
    control.inject(method="POST", path="merge_requests$", status=500, count=1)

    result = await run("v1.3.0")

    assert result.status == "opened"
    mrs = open_mrs(project)
    assert [mr.iid for mr in mrs] == [result.merge_request.iid]
    branch = project.branches.get("gitops/staging/web")
    assert branch.commit["parent_ids"] == [project.branches.get("main").commit["id"]]
    assert branch.commit["id"] == result.commit


async def test_human_closed_mr_gets_a_new_one(run: Deployer, project: Any) -> None:
    """After a human closes the bot's MR, the next request opens a new one."""
    first = await run("v1.3.0")
    mr = project.mergerequests.get(first.merge_request.iid)
    mr.state_event = "close"
    mr.save()

    second = await run("v1.4.0")

    assert second.status == "opened"
    assert second.merge_request.iid != first.merge_request.iid
    assert [m.iid for m in open_mrs(project)] == [second.merge_request.iid]


async def test_duplicate_bot_mr_is_closed_naming_the_survivor(
    run: Deployer, project: Any
) -> None:
    """A human copy of the bot's MR is closed with a comment naming the survivor."""
    first = await run("v1.3.0")
    original = project.mergerequests.get(first.merge_request.iid)
    main = project.branches.get("main").commit["id"]
    project.branches.create({"branch": "copy/web", "ref": main})
    copy = project.mergerequests.create(
        {"source_branch": "copy/web", "target_branch": "main", "title": "copy",
         "description": original.description, "labels": "app::web,env::staging"}
    )  # fmt: skip

    result = await run("v1.4.0")

    assert result.merge_request.iid == first.merge_request.iid
    copy = project.mergerequests.get(copy.iid)
    assert copy.state == "closed"
    notes = [note.body for note in copy.notes.list(get_all=True) if not note.system]
    assert notes == [
        f"Closed by gitops-bot: !{first.merge_request.iid} carries this "
        "deployment; one merge request per app and environment."
    ]


async def test_bot_mr_on_page_two_is_found(
    sandbox: SandboxThread, live_config: Config, project: Any, control: Control
) -> None:
    """With 25 older labelled MRs ahead of it, the bot's MR is still updated."""
    main = project.branches.get("main").commit["id"]
    for index in range(25):
        project.branches.create({"branch": f"human/{index}", "ref": main})
        project.mergerequests.create(
            {"source_branch": f"human/{index}", "target_branch": "main",
             "title": f"human {index}", "labels": "app::web,env::staging"}
        )  # fmt: skip
    # GitLab's default page size, the one the old bug stopped after.
    client = adapter(sandbox.url, sandbox.root_token, live_config.gitlab.project,
                     per_page=20)  # fmt: skip
    run = Deployer(live_config, client)
    first = await run("v1.3.0")
    control.clear_log()

    second = await run("v1.4.0")

    assert second.status == "updated"
    assert second.merge_request == first.merge_request
    assert control.calls()["GET /projects/:id/merge_requests"] == 2
    bot_mrs = [m for m in open_mrs(project) if m.source_branch == "gitops/staging/web"]
    assert len(bot_mrs) == 1


async def test_approvals_for_an_older_tag_do_not_count(
    run: Deployer, project: Any, make_user: Any
) -> None:
    """An approval given for v1.3.0 is gone once the MR proposes v1.4.0."""
    alice, alice_gl = make_user("alice")
    project.members.create({"user_id": alice.id, "access_level": 30})
    first = await run("v1.3.0", environment="production")
    iid = first.merge_request.iid
    alice_gl.projects.get(project.id, lazy=True).mergerequests.get(iid).approve()
    assert len(project.mergerequests.get(iid).approvals.get().approved_by) == 1

    await run("v1.4.0", environment="production")

    mr = project.mergerequests.get(iid)
    assert mr.approvals.get().approved_by == []
    assert parse_marker(mr.description).tag == "v1.4.0"
