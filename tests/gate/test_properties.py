"""Properties of the gate over generated inputs: Merge only when all holds."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gate import (
    HOLD_LABEL,
    Approver,
    FreezeState,
    GateInput,
    JobState,
    Merge,
    PipelineState,
    Regenerate,
    ReportFailure,
    Wait,
    decide,
    status_report,
)
from tests.gate.factories import BOT_ID, HEAD, NOW, OLD, PUSHED, ready

SHAS = st.sampled_from([HEAD, OLD])
TIMES = st.none() | st.sampled_from(
    [PUSHED - timedelta(hours=1), PUSHED, NOW - timedelta(minutes=1), NOW]
)
approvers = st.builds(
    Approver,
    user_id=st.sampled_from([BOT_ID, 31, 32, 33, 40]),
    username=st.sampled_from(["alice", "bob", "dave", "gitops-bot"]),
    access_level=st.sampled_from([20, 30, 40, 50]),
    groups=st.sampled_from([(), ("platform/sre",), ("platform/dev",)]),
    approved_at=TIMES,
)
pipelines = st.none() | st.builds(
    PipelineState,
    id=st.integers(1, 9),
    sha=SHAS,
    status=st.sampled_from(["success", "failed", "running", "canceled", "manual"]),
    ref=st.sampled_from(["refs/merge-requests/4/head", "refs/merge-requests/4/merge"]),
    merged_results_head_sha=st.none() | SHAS,
)
jobs = st.none() | st.lists(
    st.builds(
        JobState,
        name=st.sampled_from(["integration-test", "lint"]),
        status=st.sampled_from(["success", "failed", "running", "skipped"]),
        allow_failure=st.booleans(),
        id=st.integers(1, 5),
    ),
    max_size=4,
).map(tuple)
freezes = st.none() | st.builds(
    FreezeState,
    description=st.just("window"),
    until=st.none()
    | st.sampled_from([NOW - timedelta(hours=1), NOW + timedelta(hours=1)]),
)


FIELDS: dict[str, st.SearchStrategy] = {
    "mr__state": st.sampled_from(["merged", "closed", "locked"]),
    "mr__draft": st.just(True),
    "mr__labels": st.just(("gitops-bot", HOLD_LABEL)),
    "mr__detailed_merge_status": st.sampled_from(
        ["checking", "conflict", "need_rebase", "not_approved", "ci_still_running",
         "discussions_not_resolved", "unchecked"]
    ),
    "mr__has_conflicts": st.booleans(),
    "mr__merge_when_pipeline_succeeds": st.booleans(),
    "pipeline": pipelines,
    "jobs": jobs,
    # GitLab lists each approver once: unique user ids, as in its answers.
    "approvers": st.lists(
        approvers, max_size=4, unique_by=lambda a: a.user_id
    ).map(tuple),
    "requester_username": st.sampled_from([None, "alice", "bob"]),
    "head_pushed_at": st.none() | TIMES,
    "merge_requested": st.booleans(),
    "freeze_overridden": st.booleans(),
    "policy__required_approvals": st.integers(0, 3),
    "policy__eligible_groups": st.sampled_from([(), ("platform/dev",)]),
    "policy__min_access_level": st.sampled_from([30, 50]),
    "policy__count_requester": st.booleans(),
    "policy__required_jobs": st.sampled_from([(), ("lint",), ("unit",)]),
    "policy__auto_merge": st.booleans(),
    "policy__merge_method": st.sampled_from(["bot", "gitlab_auto_merge"]),
    "pipeline_must_succeed": st.booleans(),
    "policy__freeze": freezes,
}  # fmt: skip


@st.composite
def gate_inputs(draw: st.DrawFn) -> GateInput:
    """A ready merge request with a few of its conditions redrawn at random."""
    keys = draw(st.sets(st.sampled_from(sorted(FIELDS)), max_size=4))
    return ready(**{key: draw(FIELDS[key]) for key in sorted(keys)})


def _eligible_count(state: GateInput) -> int:
    """Count eligible approvers, written out independently of the gate."""
    policy, users = state.policy, set()
    for a in state.approvers:
        stale = a.approved_at is None or (
            state.head_pushed_at and a.approved_at < state.head_pushed_at
        )
        requester = (
            a.username == state.requester_username and not policy.count_requester
        )
        in_scope = not policy.eligible_groups or set(a.groups) & set(
            policy.eligible_groups
        )
        if (a.user_id != state.bot_user_id and not stale and not requester and in_scope
                and a.access_level >= policy.min_access_level):  # fmt: skip
            users.add(a.user_id)
    return len(users)


def _pipeline_passed_for_head(state: GateInput) -> bool:
    """The head's pipeline succeeded and every required job's last attempt passed."""
    p, mr = state.pipeline, state.mr
    if p is None or p.status != "success":
        return False
    merged = p.ref.endswith("/merge") or p.merged_results_head_sha is not None
    if (p.merged_results_head_sha if merged else p.sha) != mr.sha:
        return False
    last = {job.name: job for job in sorted(state.jobs or (), key=lambda j: j.id)}
    required = state.policy.required_jobs
    return (state.jobs is not None or not required) and all(
        name in last and last[name].status == "success" for name in required
    )


def _all_hold(state: GateInput, *, pipeline_done: bool = True) -> bool:
    """Every merge condition, as the issue states them."""
    mr, policy = state.mr, state.policy
    freeze = policy.freeze
    frozen = freeze is not None and (freeze.until is None or freeze.until > NOW)
    return (
        mr.state == "opened" and not mr.draft and HOLD_LABEL not in mr.labels
        and (not frozen or state.freeze_overridden)
        and (not pipeline_done or _pipeline_passed_for_head(state))
        and _eligible_count(state) >= policy.required_approvals
        and mr.detailed_merge_status == "mergeable" and not mr.has_conflicts
        and (policy.auto_merge or state.merge_requested)
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(state=gate_inputs())
def test_merge_only_when_every_condition_holds(state: GateInput):
    """An immediate Merge implies every condition; every condition implies Merge."""
    decision = decide(state)

    if isinstance(decision, Merge):
        assert decision.sha == state.mr.sha
        assert _all_hold(state, pipeline_done=not decision.auto_merge)
        gitlab_merges = state.policy.merge_method == "gitlab_auto_merge"
        assert decision.auto_merge is (gitlab_merges and state.pipeline_must_succeed)
    if _all_hold(state):
        assert isinstance(decision, Merge)


@settings(max_examples=300, deadline=None)
@given(state=gate_inputs())
def test_every_non_merge_says_why_and_the_report_names_it(state: GateInput):
    """Any decision but Merge carries reasons, and status lists each code."""
    decision = decide(state)

    if not isinstance(decision, Merge):
        assert decision.reasons
    report = status_report(decision, state)
    for reason in decision.reasons:
        assert f"`{reason.code}`" in report
    if isinstance(decision, Regenerate):
        assert decision.reason.code in {"conflict", "need_rebase"}
    if isinstance(decision, ReportFailure):
        assert decision.sha == state.mr.sha
        assert decision.failed_jobs or state.pipeline.status == "failed"
    if isinstance(decision, Wait) and state.mr.state != "opened":
        assert [reason.code for reason in decision.reasons] == ["not_open"]
