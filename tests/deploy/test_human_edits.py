"""What a deploy does with a human's edits to the bot's MR: a Draft title
prefix stays; a commit pushed onto the branch is never taken for the bot's."""

from __future__ import annotations

from typing import Any

import pytest

from bot.deploy.flow import draft_title
from bot.record import parse_marker
from tests.deploy.conftest import Deployer

BRANCH = "gitops/staging/web"


def push_human_commit(project: Any, *, start: str | None = None) -> str:
    """Push a commit onto the bot's branch (on ``start`` with force, if
    given); return its SHA."""
    data: dict[str, Any] = {
        "branch": BRANCH,
        "commit_message": "dave: tweak",
        "actions": [{"action": "update", "file_path": "README.md", "content": "x\n"}],
    }
    if start is not None:
        data |= {"start_sha": start, "force": True}
    return project.commits.create(data).id


@pytest.mark.parametrize(
    ("current", "planned"),
    [
        ("Deploy web v1.3.0 to staging", "Deploy web v1.4.0 to staging"),
        ("Draft: Deploy web v1.3.0", "Draft: Deploy web v1.4.0 to staging"),
        ("  draft:Deploy web v1.3.0", "draft: Deploy web v1.4.0 to staging"),
        ("[Draft] Deploy web v1.3.0", "[Draft] Deploy web v1.4.0 to staging"),
        ("(DRAFT) Deploy web v1.3.0", "(DRAFT) Deploy web v1.4.0 to staging"),
        ("Drafted: Deploy web v1.3.0", "Deploy web v1.4.0 to staging"),
        ("Deploy Draft: web", "Deploy web v1.4.0 to staging"),
    ],
)
def test_draft_title_keeps_only_a_leading_draft_prefix(current: str, planned: str):
    """A leading GitLab Draft prefix is kept in any case; nothing else is."""
    assert draft_title(current, "Deploy web v1.4.0 to staging") == planned


async def test_deploy_keeps_a_draft_title(run: Deployer, project: Any) -> None:
    """alice marks the MR as a draft; the next deploy updates the tag in the
    title and keeps the draft."""
    first = await run("v1.3.0")
    mr = project.mergerequests.get(first.merge_request.iid)
    mr.title = f"Draft: {mr.title}"
    mr.save()

    await run("v1.4.0")

    mr = project.mergerequests.get(first.merge_request.iid)
    assert mr.title == "Draft: Deploy web v1.4.0 to staging"


async def test_record_names_the_commit_the_bot_wrote(
    run: Deployer, project: Any
) -> None:
    """Open, update and replay: the record names the branch head, the bot's."""
    for tag in ("v1.3.0", "v1.4.0", "v1.4.0"):
        result = await run(tag)

        mr = project.mergerequests.get(result.merge_request.iid)
        head = project.branches.get(BRANCH).commit["id"]
        assert parse_marker(mr.description).commit == head
        assert result.commit in (None, head)


@pytest.mark.parametrize("on_target", [False, True])
async def test_a_human_commit_is_not_a_replay(
    run: Deployer, project: Any, on_target: bool
) -> None:
    """A commit pushed onto the branch, on top of the bot's or straight on
    the target head, is replaced by the same request: the branch is again
    "target head + this change"."""
    first = await run("v1.3.0")
    target = project.branches.get("main").commit["id"]
    human = push_human_commit(project, start=target if on_target else None)

    again = await run("v1.3.0")

    branch = project.branches.get(BRANCH).commit
    assert branch["id"] != human
    assert again.commit == branch["id"] and branch["parent_ids"] == [target]
    mr = project.mergerequests.get(first.merge_request.iid)
    assert parse_marker(mr.description).commit == branch["id"]
