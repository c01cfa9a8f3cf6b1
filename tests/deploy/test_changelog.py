"""The changelog in the description: merged MRs of the source project between
the deployed and the new tag, read in one compare call that never fails a
deploy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.config import Config
from bot.deploy.changelog import Span, changelog_span, merged_titles
from bot.gitlab import RetryPolicy
from bot.record import DeployRecord, Source
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import create_user
from tests.deploy.conftest import Deployer
from tests.deploy.test_flow import move_target
from tests.gitlab.world import Control, adapter, seed_source_project

COMPARE = "GET /projects/:id/repository/compare"
SOURCE = Source(project="shop/web", sha="a" * 40, ref="v1.3.0")
RELEASES = {
    "v1.2.0": [],
    "v1.3.0": ["Add the checkout page", "Fix the cart total for @bob in #12"],
    "v1.4.0": ["Faster search"],
}


def merge_message(title: str, iid: int, issues: str = "") -> str:
    """A merge commit message in GitLab's default template."""
    middle = f"{title}\n\n{issues}\n\n" if issues else f"{title}\n\n"
    return (
        f"Merge branch 'feature/{iid}' into 'main'\n\n{middle}"
        f"See merge request shop/web!{iid}"
    )


@pytest.mark.parametrize(
    ("messages", "titles"),
    [
        ([], ()),
        (["Plain commit"], ()),
        ([merge_message("Add checkout", 1)], ("Add checkout",)),
        (
            [
                merge_message("Add checkout", 1, "Closes #4"),
                "Work",
                merge_message("B", 2),
            ],
            ("Add checkout", "B"),
        ),
        # A template that starts with the title, and one with no title at all.
        (["Add checkout\n\nSee merge request shop/web!7"], ("Add checkout",)),
        (["Merge branch 'x' into 'main'\n\nSee merge request g/p!3"], ("g/p!3",)),
        # The same MR twice (a revert of a revert) is listed once.
        ([merge_message("A", 1), merge_message("A again", 1)], ("A",)),
        # The marker must be a line of its own.
        (["Mentions See merge request g/p!3 inline"], ()),
    ],
)
def test_merged_titles(messages: list[str], titles: tuple[str, ...]) -> None:
    """Merge commits give their MR's title, oldest first, each MR once."""
    assert merged_titles(messages) == titles


def test_merged_titles_keeps_the_newest_past_the_limit() -> None:
    """Past the limit the newest titles stay, after a line counting the rest."""
    messages = [merge_message(f"Change {n}", n) for n in range(1, 8)]

    assert merged_titles(messages, limit=3) == (
        "4 earlier merge requests: see the compare link",
        "Change 5",
        "Change 6",
        "Change 7",
    )


@pytest.mark.parametrize(
    ("source", "previous", "tag", "span"),
    [
        (SOURCE, "v1.2.0", "v1.3.0", Span("shop/web", "v1.2.0", "v1.3.0")),
        (None, "v1.2.0", "v1.3.0", None),
        (Source(pipeline_url="https://ci/1"), "v1.2.0", "v1.3.0", None),
        (SOURCE, None, "v1.3.0", None),
        (SOURCE, "v1.2.0", None, None),
        (SOURCE, "v1.3.0", "v1.3.0", None),
    ],
)
def test_changelog_span(
    source: Source | None, previous: str | None, tag: str | None, span: Span | None
) -> None:
    """A changelog needs the source project and two different tags."""
    record = DeployRecord(
        app="web", environment="staging", image="r/web", tag=tag,
        digest=None, previous_tag=previous, source=source,
    )  # fmt: skip
    assert changelog_span(record) == span


@pytest.fixture
def source(gl: Any) -> Any:
    """The service project shop/web, with merged MRs between its tags."""
    return seed_source_project(gl, "shop/web", RELEASES)


def changelog_of(project: Any, iid: int) -> list[str]:
    """The bullet lines of the MR description's changelog section."""
    text = project.mergerequests.get(iid).description
    if "Changes since the deployed tag" not in text:
        return []
    section = text.split("Changes since the deployed tag", 1)[1].split("\n\n")[1]
    return section.splitlines()


async def test_description_lists_the_merged_mrs(
    run: Deployer, source: Any, project: Any, control: Control
) -> None:
    """Open and update each read the compare between the deployed tag and the
    new one once; the description lists those MRs, mentions made inert."""
    control.clear_log()
    first = await run("v1.3.0", source=SOURCE)
    opened = control.calls()
    control.clear_log()
    await run("v1.4.0", source=SOURCE)
    updated = control.calls()

    iid = first.merge_request.iid
    assert changelog_of(project, iid) == [
        "- Add the checkout page",
        "- Fix the cart total for @\u200bbob in #\u200b12",
        "- Faster search",
    ]
    assert (opened[COMPARE], updated[COMPARE]) == (1, 1)
    compares = [e for e in control.requests() if e["route"].endswith("/compare")]
    assert compares[0]["path"] == "/api/v4/projects/shop/web/repository/compare"


async def test_replay_reads_no_changelog_and_writes_nothing(
    run: Deployer, source: Any, project: Any, control: Control
) -> None:
    """The same request again keeps the description, changelog included,
    without reading the compare again or writing anything."""
    first = await run("v1.3.0", source=SOURCE)
    before = project.mergerequests.get(first.merge_request.iid).description
    control.clear_log()

    second = await run("v1.3.0", source=SOURCE)

    assert second.status == "unchanged" and control.calls()[COMPARE] == 0
    assert control.writes() == []
    assert project.mergerequests.get(first.merge_request.iid).description == before


@pytest.fixture
async def outsider(
    sandbox: SandboxThread, live_config: Config, gl: Any, project: Any
) -> AsyncIterator[Deployer]:
    """A deployer whose token is a maintainer of the GitOps project only."""
    user, token = create_user(gl, "gitops-bot")
    project.members.create({"user_id": user.id, "access_level": 40})
    client = adapter(sandbox.url, token, live_config.gitlab.project)
    yield Deployer(live_config, client)
    client.close()


async def test_unreadable_source_gives_no_changelog(
    outsider: Deployer, source: Any, project: Any, control: Control
) -> None:
    """A private source project the bot's user cannot see (GitLab answers
    404): the MR opens without a changelog and without a warning."""
    control.clear_log()
    with capture_logs() as logs:
        result = await outsider("v1.3.0", source=SOURCE)

    assert result.status == "opened"
    assert changelog_of(project, result.merge_request.iid) == []
    assert control.calls()[COMPARE] == 1
    assert [e for e in logs if e["log_level"] == "warning"] == []
    unreadable = next(e for e in logs if e["event"] == "changelog unreadable")
    assert (unreadable["log_level"], unreadable["status"]) == ("debug", 404)


async def test_missing_source_project_gives_no_changelog(
    run: Deployer, project: Any
) -> None:
    """An allowed source project that GitLab does not know (404): no changelog."""
    result = await run("v1.3.0", source=SOURCE)

    mr = project.mergerequests.get(result.merge_request.iid)
    assert result.status == "opened" and changelog_of(project, mr.iid) == []
    assert "shop/web/-/compare/v1.2.0...v1.3.0" in mr.description


@pytest.fixture
async def impatient(
    sandbox: SandboxThread, live_config: Config
) -> AsyncIterator[Deployer]:
    """A deployer whose retries give up after half a second."""
    policy = RetryPolicy(
        deadline_seconds=0.5, backoff_base_seconds=0.01, backoff_max_seconds=0.05
    )
    client = adapter(
        sandbox.url, sandbox.root_token, live_config.gitlab.project, policy=policy
    )
    yield Deployer(live_config, client)
    client.close()


async def test_failing_compare_never_fails_the_deploy(
    impatient: Deployer, source: Any, project: Any, control: Control
) -> None:
    """A compare that keeps answering 503 is logged as a warning; the MR
    still opens, without a changelog."""
    control.inject(method="GET", path="repository/compare", status=503, count=1000)
    with capture_logs() as logs:
        result = await impatient("v1.3.0", source=SOURCE)

    assert result.status == "opened"
    assert changelog_of(project, result.merge_request.iid) == []
    warning = next(e for e in logs if e["event"] == "changelog failed")
    assert warning["log_level"] == "warning" and "503" in warning["error"]


async def test_regeneration_keeps_the_changelog_without_reading_it(
    run: Deployer, source: Any, project: Any, control: Control
) -> None:
    """The same tag again on a moved target rebuilds the branch; the MR
    already describes this deployment, so its changelog stays unread."""
    first = await run("v1.3.0", source=SOURCE)
    iid = first.merge_request.iid
    before = changelog_of(project, iid)
    move_target(project)
    control.clear_log()

    second = await run("v1.3.0", source=SOURCE)

    assert second.status == "updated" and second.commit is not None
    assert control.calls()[COMPARE] == 0
    assert changelog_of(project, iid) == before and len(before) == 2
