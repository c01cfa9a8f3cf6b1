"""The adapter against the sandbox over real HTTP: paths, pages, retries."""

from __future__ import annotations

from typing import Any

import pytest
import structlog

from bot.gitlab import (
    FileAction,
    GitLab,
    GitLabConflict,
    GitLabNotFound,
    GitLabRejected,
    GitLabUnavailable,
    NewMergeRequest,
    RetryPolicy,
)
from bot.sandbox.server import SandboxThread
from tests.gitlab.world import Control, adapter

FILES = "GET /projects/:id/repository/files/:path"
DOTTED = "apps/my.app/values-staging.yaml"


async def test_file_path_with_slashes_and_dots(bot: GitLab, project: Any) -> None:
    """A path with slashes and dots is read, with the head SHA of the ref."""
    file = await bot.fetch_file(DOTTED, "main")
    head = project.branches.get("main").commit["id"]

    assert file.path == DOTTED and "tag: v1.2.0" in file.content
    assert file.commit_id == head


async def test_missing_file_is_not_found_with_step(bot: GitLab) -> None:
    """A missing file raises GitLabNotFound naming the path and the ref."""
    with pytest.raises(GitLabNotFound, match="fetch_file apps/none.yaml@main: .*404"):
        await bot.fetch_file("apps/none.yaml", "main")


async def test_commit_branch_rebuilds_in_place(bot: GitLab, project: Any) -> None:
    """A forced commit from a start SHA resets the branch to "head + change"."""
    head = (await bot.fetch_file(DOTTED, "main")).commit_id
    update = [FileAction("update", DOTTED, "image:\n  tag: v2\n")]
    first = await bot.commit_branch(
        "gitops/x", start_sha=head, message="a", actions=update
    )
    second = await bot.commit_branch(
        "gitops/x", start_sha=head, message="b", actions=update
    )

    branch = await bot.fetch_branch("gitops/x")
    assert first.parent_ids == second.parent_ids == (head,)
    assert branch.sha == second.sha and branch.parent_ids == (head,)


async def test_listing_reads_every_page(
    sandbox: SandboxThread, project: Any, control: Control
) -> None:
    """25 open MRs at 10 per page: all 25 are returned, in 3 page calls."""
    main = project.branches.get("main").commit["id"]
    client = adapter(
        sandbox.url, sandbox.root_token, project.path_with_namespace, per_page=10
    )
    for index in range(25):
        branch = f"feature/{index}"
        await client.commit_branch(
            branch,
            start_sha=main,
            message="x",
            actions=[FileAction("create", f"f{index}", "x")],
        )
        await client.create_merge_request(
            NewMergeRequest(branch, "main", f"MR {index}", "", ("app::web",))
        )
    control.clear_log()

    found = await client.fetch_open_merge_requests("main", labels=("app::web",))

    assert [mr.title for mr in found] == [f"MR {index}" for index in range(25)]
    assert control.calls()["GET /projects/:id/merge_requests"] == 3


async def test_second_open_mr_for_a_branch_names_the_first(
    bot: GitLab, project: Any
) -> None:
    """Creating an MR where one is open raises a conflict naming its iid."""
    head = project.branches.get("main").commit["id"]
    await bot.commit_branch(
        "gitops/y",
        start_sha=head,
        message="y",
        actions=[FileAction("create", "y.txt", "y")],
    )
    new = NewMergeRequest("gitops/y", "main", "Y", "", ())
    first = await bot.create_merge_request(new)

    with pytest.raises(GitLabConflict) as raised:
        await bot.create_merge_request(new)
    assert raised.value.existing_iid == first.iid


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503, "count": 3},
        {"status": 502, "count": 2},
        {"status": 500, "count": 1},
        {"drop": True, "count": 2},
    ],
)
async def test_transient_faults_are_retried(
    bot: GitLab, control: Control, fault: dict
) -> None:
    """5xx and dropped connections are retried until the call succeeds."""
    control.inject(method="GET", path="repository/files", **fault)

    file = await bot.fetch_file(DOTTED, "main")

    assert file.path == DOTTED
    failed = sum(
        n
        for (route, status), n in bot.counter.snapshot().items()
        if route == FILES and status != "200"
    )
    assert failed == fault["count"]
    assert bot.counter.snapshot()[(FILES, "200")] == 1


async def test_429_waits_for_retry_after(
    sandbox: SandboxThread, project: Any, control: Control
) -> None:
    """A 429 is retried after exactly the Retry-After GitLab sent."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    client = adapter(
        sandbox.url, sandbox.root_token, project.path_with_namespace, sleep=record
    )
    control.inject(
        method="GET", path="repository/files", status=429, retry_after=7, count=2
    )

    await client.fetch_file(DOTTED, "main")

    assert waits == [7.0, 7.0]


async def test_deadline_turns_a_storm_into_unavailable(
    sandbox: SandboxThread, project: Any, control: Control
) -> None:
    """A fault outlasting the deadline raises GitLabUnavailable with the step."""
    policy = RetryPolicy(
        deadline_seconds=0.3, backoff_base_seconds=0.01, backoff_max_seconds=0.02
    )
    client = adapter(
        sandbox.url, sandbox.root_token, project.path_with_namespace, policy=policy
    )
    control.inject(method="GET", path="repository/files", status=503, count=10_000)

    with pytest.raises(GitLabUnavailable, match=f"fetch_file {DOTTED}@main: .*503"):
        await client.fetch_file(DOTTED, "main")


async def test_retry_after_past_the_deadline_gives_up_at_once(
    sandbox: SandboxThread, project: Any, control: Control
) -> None:
    """A Retry-After beyond the deadline is not waited for."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    client = adapter(
        sandbox.url,
        sandbox.root_token,
        project.path_with_namespace,
        policy=RetryPolicy(deadline_seconds=5),
        sleep=record,
    )
    control.inject(
        method="GET", path="repository/files", status=429, retry_after=60, count=1
    )

    with pytest.raises(GitLabUnavailable, match="retry after 60s; gave up"):
        await client.fetch_file(DOTTED, "main")
    assert waits == []


async def test_definite_4xx_is_not_retried(
    bot: GitLab, project: Any, control: Control
) -> None:
    """A 400 from the Commits API is raised at once: exactly one call."""
    control.clear_log()
    with pytest.raises(GitLabRejected, match="commit_branch gitops/z: .*400"):
        await bot.commit_branch(
            "gitops/z",
            start_sha="0" * 40,
            message="z",
            actions=[FileAction("update", DOTTED, "x")],
        )

    assert control.calls()["POST /projects/:id/repository/commits"] == 1


async def test_token_never_reaches_logs_or_repr(
    sandbox: SandboxThread, bot: GitLab, control: Control
) -> None:
    """Neither the logs of a failing call nor the adapter's repr hold the token."""
    control.inject(method="GET", path="repository/files", status=503, count=1)
    with structlog.testing.capture_logs() as logs:
        await bot.fetch_file(DOTTED, "main")
        with pytest.raises(GitLabNotFound):
            await bot.fetch_file("none.yaml", "main")

    assert logs, "the retried call should have been logged"
    assert sandbox.root_token not in repr(logs) + repr(bot)


async def test_merge_request_versions_newest_first_every_page_or_one(
    sandbox: SandboxThread, project: Any, control: Control
) -> None:
    """Three versions at 2 per page: all in 2 calls, or the newest in 1 call."""
    client = adapter(
        sandbox.url, sandbox.root_token, project.path_with_namespace, per_page=2
    )
    main = project.branches.get("main").commit["id"]
    heads = []
    for index in range(3):
        commit = await client.commit_branch(
            "gitops/v",
            start_sha=main if index == 0 else heads[-1],
            message=f"v{index}",
            actions=[FileAction("create", f"v{index}.txt", "v")],
        )
        heads.append(commit.sha)
        if index == 0:
            mr = await client.create_merge_request(
                NewMergeRequest("gitops/v", "main", "V", "", ())
            )
    control.clear_log()

    every = await client.fetch_merge_request_versions(mr.iid)
    newest = await client.fetch_merge_request_versions(mr.iid, newest=1)

    assert [version.head_commit_sha for version in every] == heads[::-1]
    assert {version.start_commit_sha for version in every} == {main}
    assert newest == every[:1] and newest[0].created_at.endswith("Z")
    assert control.calls()["GET /projects/:id/merge_requests/:iid/versions"] == 3
