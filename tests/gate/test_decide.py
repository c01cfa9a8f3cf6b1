"""The merge gate decision: each reason alone, and in combination."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.gate import (
    HOLD_LABEL,
    Approver,
    CancelAutoMerge,
    FreezeState,
    JobState,
    Merge,
    PipelineState,
    Regenerate,
    ReportFailure,
    Wait,
    decide,
)
from tests.gate.factories import (
    ALICE,
    APPROVED,
    BOT_ID,
    HEAD,
    NOW,
    OLD,
    PUSHED,
    ready,
)

HELD = ("gitops-bot", HOLD_LABEL)
MERGED_REF = "refs/merge-requests/4/merge"


def test_a_ready_merge_request_merges_naming_its_head():
    """With every condition met, the gate merges the head SHA, nothing else."""
    assert decide(ready()) == Merge(HEAD)


WAITS: list[tuple[str, dict[str, Any], str]] = [
    ("held", {"mr__labels": HELD, "hold_reason": "DB migration"},
     "held: DB migration; `unhold` lifts it"),
    ("draft", {"mr__draft": True, "mr__detailed_merge_status": "draft_status"},
     "!4 is a draft"),
    ("frozen",
     {"policy__freeze": FreezeState("release freeze", NOW + timedelta(hours=2))},
     "production is frozen (release freeze) until 2024-05-06 14:00 UTC"),
    ("frozen", {"policy__freeze": FreezeState("incident")},
     "production is frozen (incident) until further notice"),
    ("pipeline_missing", {"pipeline": None, "jobs": None},
     "no pipeline has run for head def45678"),
    ("pipeline_for_other_sha", {"pipeline__sha": OLD},
     "pipeline #7 ran for abc12345, head is def45678"),
    ("pipeline_for_other_sha",
     {"pipeline__sha": "0" * 40, "pipeline__ref": MERGED_REF},
     "pipeline #7 (merged results) ran for 00000000, head is def45678"),
    ("pipeline_for_other_sha",
     {"pipeline__sha": "0" * 40, "pipeline__ref": MERGED_REF,
      "pipeline__merged_results_head_sha": OLD},
     "pipeline #7 (merged results) ran for abc12345, head is def45678"),
    ("pipeline_running", {"pipeline__status": "running"},
     "pipeline #7 for def45678 has not finished (running)"),
    ("pipeline_running", {"pipeline__status": "manual"}, "has not finished (manual)"),
    ("pipeline_not_passed", {"pipeline__status": "canceled"},
     "pipeline #7 for def45678 ended canceled; `retry` reruns it"),
    ("pipeline_not_passed", {"pipeline__status": "weird"}, "unknown status `weird`"),
    ("required_job_missing", {"jobs": (JobState("lint", "success"),)},
     "required job `integration-test` is not in pipeline #7"),
    ("required_job_missing", {"jobs": None}, "jobs of pipeline #7 are unknown"),
    ("required_job_pending",
     {"jobs": (JobState("integration-test", "manual", allow_failure=True),)},
     "required job `integration-test` is manual"),
    ("required_job_failed",
     {"jobs": (JobState("integration-test", "skipped"),)},
     "required job `integration-test` skipped"),
    ("approvals_missing", {"approvers": (ALICE,)},
     "1 of 2 approvals from platform/sre; approvals reset when the branch changes; "
     "head def45678 was pushed 2024-05-06 10:00 UTC"),
    ("checking", {"mr__detailed_merge_status": "checking"},
     "GitLab is still checking mergeability (`checking`)"),
    ("checking", {"mr__detailed_merge_status": "unchecked"}, "(`unchecked`)"),
    ("checking", {"mr__detailed_merge_status": "preparing"}, "(`preparing`)"),
    ("checking", {"mr__detailed_merge_status": "approvals_syncing"},
     "(`approvals_syncing`)"),
    ("discussions_not_resolved",
     {"mr__detailed_merge_status": "discussions_not_resolved"},
     "open threads must be resolved"),
    ("not_mergeable", {"mr__detailed_merge_status": "merge_request_blocked"},
     "GitLab reports `merge_request_blocked`"),
    ("not_mergeable", {"mr__detailed_merge_status": "ci_must_pass"},
     "GitLab reports `ci_must_pass`"),
    ("not_mergeable", {"mr__detailed_merge_status": "not_approved"},
     "GitLab reports `not_approved`"),
    ("not_mergeable", {"mr__detailed_merge_status": "new_status_from_gitlab_20"},
     "GitLab reports `new_status_from_gitlab_20`"),
    ("auto_merge_disabled", {"policy__auto_merge": False},
     "production merges on a `merge` command only"),
    ("not_open", {"mr__state": "merged"}, "!4 is merged, not open"),
    ("not_open", {"mr__state": "closed"}, "!4 is closed, not open"),
    ("not_open", {"mr__state": "locked"}, "!4 is locked: GitLab is merging it"),
]  # fmt: skip


@pytest.mark.parametrize(("code", "changes", "text"), WAITS)
def test_each_blocker_alone_makes_the_gate_wait(code: str, changes: dict, text: str):
    """One spoiled condition gives Wait with exactly that reason and its text."""
    decision = decide(ready(**changes))

    assert isinstance(decision, Wait)
    assert [reason.code for reason in decision.reasons] == [code]
    assert text in decision.reasons[0].text


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"mr__detailed_merge_status": "conflict"},
         "!4 conflicts with the target branch; regenerating"),
        ({"mr__has_conflicts": True, "mr__detailed_merge_status": "mergeable"},
         "!4 conflicts with the target branch; regenerating"),
        ({"mr__detailed_merge_status": "need_rebase"},
         "the target branch moved; regenerating"),
        ({"mr__detailed_merge_status": "need_rebase", "mr__labels": HELD},
         "the target branch moved; regenerating"),
    ],
)  # fmt: skip
def test_conflict_and_need_rebase_regenerate(changes: dict, reason: str):
    """A conflict or an outdated base rebuilds the branch instead of merging."""
    decision = decide(ready(**changes))

    assert isinstance(decision, Regenerate)
    assert decision.reason.text == reason
    assert decision.reason in decision.reasons


def test_a_failed_head_pipeline_is_reported_with_the_jobs_that_count():
    """A failure names the SHA, the pipeline and failed jobs not allowed to fail."""
    jobs = (
        JobState("lint", "failed", allow_failure=True, id=1),
        JobState("integration-test", "failed", id=2),
        JobState("unit", "failed", id=3),
    )

    decision = decide(ready(pipeline__status="failed", jobs=jobs))

    assert decision == ReportFailure(HEAD, 7, ("integration-test", "unit"),
                                     decision.reasons)  # fmt: skip
    codes = [reason.code for reason in decision.reasons]
    assert codes == ["pipeline_failed", "required_job_failed"]


def test_a_required_job_allowed_to_fail_still_fails_the_gate():
    """A required job that failed counts even when GitLab let the pipeline pass."""
    jobs = (JobState("integration-test", "failed", allow_failure=True, id=2),)

    decision = decide(ready(jobs=jobs))

    assert isinstance(decision, ReportFailure)
    assert decision.failed_jobs == ("integration-test",)


def test_a_retried_job_counts_by_its_latest_attempt():
    """A job that failed, then passed on retry, counts as passed."""
    jobs = (
        JobState("integration-test", "failed", id=2),
        JobState("integration-test", "success", id=5),
    )

    assert decide(ready(jobs=jobs)) == Merge(HEAD)


def test_failure_for_an_older_sha_is_not_reported():
    """An older SHA's failed pipeline is not the head's result: wait, no report."""
    decision = decide(ready(pipeline__sha=OLD, pipeline__status="failed"))

    assert isinstance(decision, Wait)
    assert [reason.code for reason in decision.reasons] == ["pipeline_for_other_sha"]


def test_merged_results_pipeline_counts_only_with_the_explicit_head():
    """A merged-results pipeline counts when the adapter names the head it merged."""
    state = ready(
        pipeline=PipelineState(7, "0" * 40, "success", ref=MERGED_REF,
                               merged_results_head_sha=HEAD),
    )  # fmt: skip

    assert decide(state) == Merge(HEAD)


def test_every_blocker_is_listed_at_once():
    """With many things wrong, the wait lists all of them, in status order."""
    state = ready(
        mr__labels=HELD, mr__draft=True, mr__detailed_merge_status="checking",
        policy__freeze=FreezeState("weekend"), pipeline__status="running",
        approvers=(), policy__auto_merge=False,
    )  # fmt: skip

    decision = decide(state)

    assert isinstance(decision, Wait)
    assert [reason.code for reason in decision.reasons] == [
        "held", "draft", "frozen", "pipeline_running", "approvals_missing",
        "auto_merge_disabled", "checking",
    ]  # fmt: skip


def test_a_closed_merge_request_only_says_so():
    """Once merged or closed, nothing else is reported."""
    decision = decide(ready(mr__state="merged", pipeline=None, approvers=()))

    assert decision == Wait(decision.reasons)
    assert [reason.code for reason in decision.reasons] == ["not_open"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"policy__freeze": FreezeState("w", NOW - timedelta(seconds=1))}, Merge(HEAD)),
        ({"policy__freeze": FreezeState("w", NOW)}, Merge(HEAD)),
        ({"policy__freeze": FreezeState("w"), "freeze_overridden": True}, Merge(HEAD)),
        ({"policy__auto_merge": False, "merge_requested": True}, Merge(HEAD)),
    ],
)
def test_freeze_end_override_and_merge_command_let_the_merge_through(
    changes: dict, expected: Merge
):
    """A past freeze, an authorised override, or a merge command unblock."""
    assert decide(ready(**changes)) == expected


def test_gitlab_auto_merge_is_set_while_the_head_pipeline_runs():
    """With GitLab's auto-merge, the bot sets it (SHA-guarded) once only CI remains."""
    state = ready(policy__merge_method="gitlab_auto_merge", pipeline__status="running")

    decision = decide(state)

    assert isinstance(decision, Merge) and decision.auto_merge
    assert decision.sha == HEAD


@pytest.mark.parametrize("method", ["bot", "gitlab_auto_merge"])
def test_required_jobs_of_a_running_pipeline_wait_without_being_unknown(
    method: str,
):
    """While the head pipeline runs its jobs are not read: `status` names the
    running pipeline and the required job as pending, not as missing; the
    gate still neither merges nor hands the unread job to GitLab's
    auto-merge."""
    state = ready(policy__merge_method=method, pipeline__status="running", jobs=None)

    decision = decide(state)

    assert isinstance(decision, Wait)
    assert [(r.code, r.text) for r in decision.reasons] == [
        ("pipeline_running", "pipeline #7 for def45678 has not finished (running)"),
        (
            "required_job_pending",
            "required job `integration-test` waits for pipeline #7 to finish",
        ),
    ]


def test_gitlab_auto_merge_already_set_is_not_set_again():
    """Once GitLab's auto-merge is on, the gate waits for GitLab."""
    state = ready(
        policy__merge_method="gitlab_auto_merge", pipeline__status="running",
        mr__merge_when_pipeline_succeeds=True,
    )  # fmt: skip

    decision = decide(state)

    assert isinstance(decision, Wait)
    assert [r.code for r in decision.reasons] == ["auto_merge_set", "pipeline_running"]


@pytest.mark.parametrize(
    "changes",
    [
        {"mr__labels": HELD},
        {"policy__freeze": FreezeState("weekend")},
        {"approvers": ()},
        {"jobs": (JobState("lint", "success"),)},
    ],
)
def test_auto_merge_is_cancelled_when_a_rule_gitlab_ignores_blocks(changes: dict):
    """Hold, freeze, missing approvals or a missing required job cancel auto-merge."""
    decision = decide(ready(mr__merge_when_pipeline_succeeds=True, **changes))

    assert isinstance(decision, CancelAutoMerge)


@pytest.mark.parametrize(
    ("approvers", "text"),
    [
        ((Approver(BOT_ID, "gitops-bot", 50, ("platform/sre",)),),
         "@gitops-bot's approval does not count: it is the bot's own"),
        ((Approver(40, "Dave", 40, ("platform/sre",)),),
         "@Dave's approval does not count: they requested this deploy"),
        ((Approver(41, "bob", 50, ("platform/dev",), APPROVED),),
         "@bob's approval does not count: not in platform/sre"),
        ((Approver(42, "erin", 30, ("platform/sre",), APPROVED),),
         "@erin's approval does not count: Developer access, Maintainer needed"),
        ((Approver(43, "frank", 40, ("platform/sre",), PUSHED - timedelta(minutes=1)),),
         "@frank's approval does not count: given before head def45678 was pushed"),
    ],
)  # fmt: skip
def test_ineligible_approvals_do_not_count_and_say_why(approvers: tuple, text: str):
    """Each ineligible approval is named with its reason; only ALICE counts."""
    decision = decide(ready(approvers=(ALICE, *approvers)))

    assert isinstance(decision, Wait)
    [reason] = decision.reasons
    assert reason.code == "approvals_missing"
    assert reason.text.startswith(f"1 of 2 approvals from platform/sre; {text}")


def test_the_same_approver_twice_counts_once():
    """A duplicated approval entry does not make two approvals."""
    decision = decide(ready(approvers=(ALICE, ALICE)))

    assert [reason.code for reason in decision.reasons] == ["approvals_missing"]


@pytest.mark.parametrize(
    ("policy", "approver", "counts"),
    [
        ({"policy__eligible_groups": (), "policy__eligible_users": ("ALICE", "bob")},
         Approver(41, "Bob", 40, (), APPROVED), True),
        ({"policy__eligible_groups": ("platform/sre",),
          "policy__eligible_users": ("bob",)},
         Approver(41, "bob", 40, (), APPROVED), True),
        ({"policy__eligible_groups": (), "policy__min_access_level": 30},
         Approver(41, "bob", 30, (), APPROVED), True),
        ({"policy__eligible_groups": ("platform/sre",)},
         Approver(41, "bob", 40, ("platform/sre/oncall",), APPROVED), False),
        ({"policy__count_requester": True},
         Approver(40, "dave", 40, ("platform/sre",), APPROVED), True),
    ],
)  # fmt: skip
def test_eligibility_rules(policy: dict, approver: Approver, counts: bool):
    """Users, groups (exact path), access level and the requester setting decide."""
    decision = decide(ready(approvers=(ALICE, approver), **policy))

    assert (decision == Merge(HEAD)) is counts


def test_no_approvals_needed_on_staging_even_from_nobody():
    """An environment requiring no approvals merges without any."""
    state = ready(approvers=(), policy__required_approvals=0)

    assert decide(state) == Merge(HEAD)


MANUAL_JOB = (JobState("integration-test", "manual", allow_failure=True, id=2),)


@pytest.mark.parametrize(
    ("pipeline_status", "auto_merge_set", "expected"),
    [
        ("running", False, Merge),
        ("running", True, Wait),
        ("success", False, Wait),
        ("success", True, CancelAutoMerge),
    ],
)
def test_a_pending_required_job_is_left_to_gitlab_only_while_the_pipeline_runs(
    pipeline_status: str, auto_merge_set: bool, expected: type
):
    """A manual required job in a pipeline that ended never waits on GitLab.

    GitLab's auto-merge merges as soon as the pipeline succeeds, so a required
    job still manual there would never run: the gate waits (and cancels an
    auto-merge already set) instead of handing the merge to GitLab.
    """
    state = ready(
        policy__merge_method="gitlab_auto_merge", pipeline__status=pipeline_status,
        mr__merge_when_pipeline_succeeds=auto_merge_set, jobs=MANUAL_JOB,
    )  # fmt: skip

    decision = decide(state)

    assert type(decision) is expected
    assert not isinstance(decision, Merge) or decision.auto_merge
    if pipeline_status == "success":
        assert "required_job_pending" in {r.code for r in decision.reasons}
