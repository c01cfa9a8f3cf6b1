"""The status report, head pipeline selection, and GitLab's merge refusals."""

from __future__ import annotations

import pytest

from bot.gate import (
    HOLD_LABEL,
    Approver,
    JobState,
    PipelineState,
    decide,
    merge_response_action,
    select_head_pipeline,
    status_report,
)
from bot.record import Pin
from tests.gate.factories import ALICE, APPROVED, HEAD, OLD, ready


def test_status_explains_every_blocker_and_the_facts():
    """The report states the verdict, each blocker with its code, and the facts."""
    state = ready(
        mr__labels=(HOLD_LABEL,), hold_reason="waiting on @carol's OK",
        pipeline__status="running",
        approvers=(ALICE, Approver(41, "bob", 40, (), APPROVED)),
        pin=Pin("v1.4.1", "incident 42", "alice"),
    )  # fmt: skip

    report = status_report(decide(state), state)

    assert report.startswith(
        "**Merge gate for !4 (production)**: waiting on 3 blockers"
    )
    assert "- `held`: held: waiting on @\u200bcarol's OK; `unhold` lifts it" in report
    assert "- `pipeline_running`: pipeline #\u200b7 for def45678 has not" in report
    assert "@bob's approval does not count: not in platform/sre" in report
    assert f"- Head: `{HEAD}`; GitLab says `mergeable`" in report
    assert "- Pipeline: #\u200b7 running for `def45678`" in report
    assert "- Approvals: 1 of 2 (`alice`)" in report
    assert "- Pinned to `v1.4.1` by `alice`: incident 42" in report


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({}, "ready; merging head `def45678`"),
        ({"policy__merge_method": "gitlab_auto_merge"},
         "ready; GitLab's auto-merge is set for head `def45678`"),
        ({"mr__detailed_merge_status": "need_rebase"},
         "the branch is being rebuilt (need_rebase)"),
        ({"pipeline__status": "failed"}, "pipeline #\u200b7 failed for `def45678`\n"),
        ({"pipeline__status": "failed",
          "jobs": (JobState("integration-test", "failed"), JobState("e2e", "failed"))},
         "pipeline #\u200b7 failed for `def45678` (`integration-test`, `e2e`)"),
        ({"approvers": (ALICE,)}, "waiting on 1 blocker\n"),
        ({"mr__merge_when_pipeline_succeeds": True, "approvers": ()},
         "GitLab's auto-merge is cancelled while the bot's rules block"),
    ],
)  # fmt: skip
def test_status_verdict_per_decision(changes: dict, verdict: str):
    """The first line says what the bot does next for each kind of decision."""
    state = ready(**changes)

    assert verdict in status_report(decide(state), state)


def _pipeline(id: int, sha: str, ref: str = "refs/merge-requests/4/head",
              head: str | None = None) -> PipelineState:  # fmt: skip
    """A successful pipeline with the given id, SHA and ref."""
    return PipelineState(id, sha, "success", ref=ref, merged_results_head_sha=head)


@pytest.mark.parametrize(
    ("pipelines", "chosen"),
    [
        ([], None),
        ([_pipeline(3, HEAD), _pipeline(5, HEAD)], 5),
        ([_pipeline(3, HEAD), _pipeline(9, OLD)], 3),
        ([_pipeline(2, OLD), _pipeline(4, OLD)], 4),
        ([_pipeline(3, HEAD),
          _pipeline(8, "m" * 40, "refs/merge-requests/4/merge")], 3),
        ([_pipeline(3, HEAD),
          _pipeline(8, "m" * 40, "refs/merge-requests/4/merge", HEAD)], 8),
    ],
)  # fmt: skip
def test_the_head_pipeline_is_the_newest_that_tested_the_head(
    pipelines: list[PipelineState], chosen: int | None
):
    """Newest pipeline for the head wins; another SHA's only when none tested it."""
    selected = select_head_pipeline(pipelines, ready().mr)

    assert (selected.id if selected else None) == chosen


@pytest.mark.parametrize(
    ("status", "action"),
    [(405, "re-evaluate"), (406, "re-evaluate"), (422, "re-evaluate"),
     (409, "head-moved")],
)  # fmt: skip
def test_merge_refusals_are_re_evaluated_not_failed(status: int, action: str):
    """405/406/422 mean "not merged, decide again"; 409 means the head moved."""
    assert merge_response_action(status) == action


@pytest.mark.parametrize("status", [200, 401, 403, 404, 500])
def test_other_statuses_are_not_merge_refusals(status: int):
    """Anything else is the adapter's error to raise, named with its status."""
    with pytest.raises(ValueError, match=f"HTTP {status} is not a merge refusal"):
        merge_response_action(status)
