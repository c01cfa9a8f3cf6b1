"""Approvals given before the head's push, as GitLab recorded it, do not count."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.gate import Approver, Merge, Wait, decide
from bot.gate.approvals import count_approvals
from bot.gate.fetch import GateReader
from bot.gitlab import ApprovedBy, Commit, DiffVersion
from tests.gate.factories import ALICE, PUSHED, ready
from tests.gate.reader_world import (
    HEAD,
    RECORDED,
    TARGET,
    FakeGitLab,
    config,
    merge_request,
)

OTHER = "3333333333333333333333333333333333333333"
HALF_SECOND = timedelta(milliseconds=500)


def bob(approved_at: datetime | None) -> Approver:
    """An eligible approver who approved at ``approved_at``."""
    return Approver(41, "bob", 40, ("platform/sre",), approved_at)


@pytest.mark.parametrize(
    ("approved_at", "counts", "excuse"),
    [
        (PUSHED - HALF_SECOND, False, "given before head def45678 was pushed"),
        (PUSHED - timedelta(days=1), False, "given before head def45678 was pushed"),
        (PUSHED, True, None),
        (PUSHED + HALF_SECOND, True, None),
        (None, False, "GitLab gave no approval time, so it may predate the head"),
    ],
)
def test_an_approval_counts_only_from_the_recorded_push_on(
    approved_at: datetime | None, counts: bool, excuse: str | None
) -> None:
    """0.5 s before the push is stale; at or after it counts; no time is stale."""
    state = ready(approvers=(ALICE, bob(approved_at)))

    count = count_approvals(state)

    assert (bob(approved_at) in count.counted) is counts
    expected = () if excuse is None else (f"@bob's approval does not count: {excuse}",)
    assert count.excuses == expected
    assert isinstance(decide(state), Merge if counts else Wait)


def test_an_approval_without_a_time_is_stale_even_with_no_push_time() -> None:
    """Without ``head_pushed_at`` an approval without a time still does not count."""
    state = ready(approvers=(ALICE, bob(None)), head_pushed_at=None)

    assert count_approvals(state).counted == (ALICE,)


def gitlab_approved_at(*times: str) -> FakeGitLab:
    """The production MR at HEAD, approved by alice then bob at ``times``, and a
    commit the pusher dated an hour before GitLab recorded the push."""
    entries = tuple(
        ApprovedBy(user_id, name, at)
        for (user_id, name), at in zip(
            ((31, "alice"), (41, "bob")), times, strict=False
        )
    )
    early = Commit(HEAD, "Deploy", (TARGET,), None, "2024-05-06T09:00:00Z")
    return FakeGitLab(merge_request(None), {HEAD: early}, approvals=entries)


async def test_the_push_time_is_the_recorded_version_not_the_commit_date() -> None:
    """An approval 0.5 s before GitLab recorded the head is stale, although
    the commit says it was made an hour earlier (and to the second)."""
    gitlab = gitlab_approved_at("2024-05-06T10:00:01Z", "2024-05-06T09:59:59.750Z")

    fetched = await GateReader().read(config(), gitlab, 4)

    assert fetched is not None
    recorded = datetime.fromisoformat(RECORDED.replace("Z", "+00:00"))
    assert fetched.state.head_pushed_at == recorded
    [reason] = [r for r in decide(fetched.state).reasons if "approv" in r.code]
    assert "@bob's approval does not count: given before head def45678" in reason.text
    assert not [call for call in gitlab.calls if call.startswith("commit")]


async def test_the_push_time_is_read_once_per_head() -> None:
    """An unchanged head costs no versions call; a new head reads them again."""
    gitlab = gitlab_approved_at("2024-05-06T10:00:01Z")
    reader = GateReader()
    await reader.read(config(), gitlab, 4)
    gitlab.calls.clear()

    await reader.read(config(), gitlab, 4)
    unchanged = list(gitlab.calls)
    gitlab.mr = replace(gitlab.mr, sha=OTHER)
    gitlab.versions = (DiffVersion(2, OTHER, TARGET, TARGET, "2024-05-06T11:00:00Z"),)
    gitlab.calls.clear()
    moved = await reader.read(config(), gitlab, 4)

    assert unchanged == ["mr 4", "approvals 4"]
    assert gitlab.calls == ["mr 4", "approvals 4", "versions 4"]
    assert moved is not None
    assert moved.state.head_pushed_at == datetime(2024, 5, 6, 11, tzinfo=UTC)


async def test_a_head_that_comes_back_takes_its_newest_version() -> None:
    """A, then B, then A again: the push time is A's second version."""
    gitlab = gitlab_approved_at("2024-05-06T10:00:01Z")
    reader = GateReader()
    await reader.read(config(), gitlab, 4)
    gitlab.mr = replace(gitlab.mr, sha=OTHER)
    gitlab.versions = (
        DiffVersion(2, OTHER, TARGET, TARGET, "2024-05-06T11:00:00Z"),
        *gitlab.versions,
    )
    await reader.read(config(), gitlab, 4)
    gitlab.mr = replace(gitlab.mr, sha=HEAD)
    gitlab.versions = (
        DiffVersion(3, HEAD, TARGET, TARGET, "2024-05-06T12:00:00Z"),
        *gitlab.versions,
    )

    fetched = await reader.read(config(), gitlab, 4)

    assert fetched is not None
    assert fetched.state.head_pushed_at == datetime(2024, 5, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        ((), datetime(2024, 5, 6, 9, tzinfo=UTC)),
        (
            (DiffVersion(1, OTHER, TARGET, TARGET, "2024-05-06T09:30:00Z"),),
            datetime(2024, 5, 6, 9, 30, tzinfo=UTC),
        ),
        (
            (DiffVersion(1, OTHER, TARGET, TARGET, "2024-05-06T08:00:00Z"),),
            datetime(2024, 5, 6, 9, tzinfo=UTC),
        ),
    ],
)
async def test_a_head_gitlab_has_no_version_of_takes_the_later_known_time(
    versions: tuple[DiffVersion, ...], expected: datetime
) -> None:
    """No version of the head: the later of the commit date and the newest
    version stands in, and it is not cached (the next read looks again)."""
    gitlab = gitlab_approved_at("2024-05-06T10:00:01Z")
    gitlab.versions = versions
    reader = GateReader()

    first = await reader.read(config(), gitlab, 4)
    await reader.read(config(), gitlab, 4)

    assert first is not None and first.state.head_pushed_at == expected
    assert gitlab.calls.count("versions 4") == 2
