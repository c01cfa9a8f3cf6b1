"""The merge gate: one pure decision over what the adapter fetched.

Merge only when every condition holds: open, not draft, not held, outside a
freeze, the head SHA's latest pipeline succeeded with every required job,
approvals satisfied, and GitLab itself says ``mergeable`` (never while it is
still checking). Every blocking reason is listed, not just the first.

Precedence when several things are wrong: a closed merge request only says
so; a head other than the commit the bot recorded (someone pushed onto its
branch) regenerates the branch, never merges; so does a conflict or
``need_rebase``; a failed pipeline is
reported; GitLab's auto-merge is cancelled when a rule GitLab does not know
about blocks; otherwise wait.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from bot.gate.approvals import approval_reasons
from bot.gate.model import (
    CancelAutoMerge,
    Decision,
    GateInput,
    JobState,
    Merge,
    MergeRequestState,
    PipelineState,
    Reason,
    Regenerate,
    ReportFailure,
    Wait,
)
from bot.record import code_span, inline_text

RUNNING = frozenset({
    "created", "waiting_for_resource", "preparing", "waiting_for_callback",
    "pending", "running", "scheduled", "manual",
})  # fmt: skip
ENDED_UNPASSED = frozenset({"canceled", "canceling", "skipped"})
TRANSIENT_MERGE_STATUS = frozenset(
    {"unchecked", "checking", "preparing", "approvals_syncing"}
)
REGENERATE_CODES = ("conflict", "need_rebase")
# Rules only the bot enforces: GitLab's auto-merge would merge through them.
GITLAB_BLIND = frozenset({
    "commands_pending", "held", "frozen", "approvals_missing", "required_job_missing",
    "required_job_failed",
})  # fmt: skip
# With GitLab's auto-merge, these are left for GitLab to wait out; a pending
# required job only while the pipeline runs (see ``_auto_merge_waits``).
AUTO_MERGE_WAITS = frozenset({"pipeline_running", "required_job_pending"})


def decide(state: GateInput) -> Decision:
    """Decide what to do with one bot merge request now."""
    if state.mr.state != "opened":
        return Wait((_not_open(state.mr),))

    reasons = _all_reasons(state)
    codes = {reason.code for reason in reasons}
    foreign = foreign_commit(state.mr)
    if foreign is not None:
        return Regenerate(foreign, (foreign, *reasons))
    regenerate = [reason for reason in reasons if reason.code in REGENERATE_CODES]
    if regenerate:
        return Regenerate(regenerate[0], reasons)
    if (
        "pipeline_failed" in codes
        or _failed_jobs(state)
        and "required_job_failed" in codes
    ):
        return _report_failure(state, reasons)
    if state.mr.merge_when_pipeline_succeeds and _gitlab_merges_through(state, codes):
        return CancelAutoMerge(reasons)
    return _merge_or_wait(state, reasons, codes)


def _all_reasons(state: GateInput) -> tuple[Reason, ...]:
    """Collect every blocking reason, in the order ``status`` lists them."""
    own = [
        *_merge_request_reasons(state),
        *_freeze_reasons(state),
        *pipeline_reasons(state),
        *approval_reasons(state),
        *_auto_merge_reasons(state),
    ]
    return (*own, *_gitlab_reasons(state.mr, {reason.code for reason in own}))


def _merge_or_wait(
    state: GateInput, reasons: tuple[Reason, ...], codes: set[str]
) -> Decision:
    """Merge when nothing blocks; with GitLab's auto-merge, also while running."""
    sha = state.mr.sha
    waits = _auto_merge_waits(state)
    if uses_gitlab_auto_merge(state) and codes <= waits:
        if codes and state.mr.merge_when_pipeline_succeeds:
            return Wait(
                (
                    Reason("auto_merge_set", "GitLab merges when the pipeline passes"),
                    *reasons,
                )
            )
        return Merge(sha, auto_merge=True, reasons=reasons)
    if reasons:
        return Wait(reasons)
    return Merge(sha)


def uses_gitlab_auto_merge(state: GateInput) -> bool:
    """Whether the gate may hand the merge to GitLab's auto-merge.

    Only when the project requires pipelines to succeed: otherwise a pipeline
    that fails between the gate's read and the request is merged by GitLab at
    once, so the gate waits for the pipeline and merges itself (SHA-guarded).
    """
    return state.policy.merge_method == "gitlab_auto_merge" and (
        state.pipeline_must_succeed
    )


def _auto_merge_waits(state: GateInput) -> frozenset[str]:
    """The reasons GitLab's auto-merge may wait out for this state.

    GitLab merges as soon as the pipeline succeeds: a required job still
    ``manual`` (or otherwise pending) in a pipeline that already ended would
    never run before that merge, so it is a wait only while the pipeline runs,
    and only once its jobs were read (they are read when it finished).
    """
    pipeline = state.pipeline
    if pipeline is not None and pipeline.status in RUNNING and state.jobs is not None:
        return AUTO_MERGE_WAITS
    return AUTO_MERGE_WAITS - {"required_job_pending"}


def _gitlab_merges_through(state: GateInput, codes: set[str]) -> bool:
    """Whether GitLab's auto-merge would merge despite one of these reasons."""
    late_job = "required_job_pending" in codes - _auto_merge_waits(state)
    return bool(codes & GITLAB_BLIND) or late_job


def foreign_commit(mr: MergeRequestState) -> Reason | None:
    """Say that the head is not the commit the bot recorded; None when it is,
    or when the record predates recording it."""
    if mr.recorded_commit in (None, mr.sha) or not mr.sha:
        return None
    return Reason(
        "foreign_commit",
        f"a commit not written by the bot ({code_span(mr.sha[:8])}) is the head "
        f"of !{mr.iid}; never merged, the branch is rebuilt from the target "
        "branch + this change",
    )


def _not_open(mr: MergeRequestState) -> Reason:
    """Say that the merge request is no longer open."""
    if mr.state == "locked":
        return Reason("not_open", f"!{mr.iid} is locked: GitLab is merging it")
    return Reason("not_open", f"!{mr.iid} is {mr.state}, not open")


def _merge_request_reasons(state: GateInput) -> Iterable[Reason]:
    """Comment commands not answered yet, hold and draft."""
    if state.pending_commands:
        notes = ", ".join(map(str, state.pending_commands))
        yield Reason(
            "commands_pending",
            f"comment commands not answered yet (note {notes}); "
            "the bot runs them before any merge",
        )
    if state.held:
        who = f" by {code_span(state.held_by)}" if state.held_by else ""
        why = f": {inline_text(state.hold_reason)}" if state.hold_reason else ""
        yield Reason("held", f"held{who}{why}; `unhold` lifts it")
    if state.mr.draft:
        yield Reason("draft", f"!{state.mr.iid} is a draft")


def _freeze_reasons(state: GateInput) -> Iterable[Reason]:
    """A freeze in force, unless a ``merge`` command overrides it."""
    freeze = state.policy.freeze
    if freeze is None or state.freeze_overridden:
        return
    if freeze.until is not None and state.now >= freeze.until:
        return

    until = (
        "until further notice"
        if freeze.until is None
        else (f"until {freeze.until:%Y-%m-%d %H:%M %Z}".strip())
    )
    yield Reason(
        "frozen",
        f"{state.policy.environment} is frozen ({inline_text(freeze.description)}) "
        f"{until}; a `merge` command at the override access level merges anyway",
    )


def _auto_merge_reasons(state: GateInput) -> Iterable[Reason]:
    """An environment without auto-merge waits for a ``merge`` command."""
    if not state.policy.auto_merge and not state.merge_requested:
        yield Reason(
            "auto_merge_disabled",
            f"{state.policy.environment} merges on a `merge` command only",
        )


def is_for_head(pipeline: PipelineState, mr: MergeRequestState) -> bool:
    """Whether a pipeline tested the merge request's head commit.

    A merged-results or merge-train pipeline (ref ``refs/merge-requests/<iid>/
    merge`` or ``/train``) counts only through its explicit
    ``merged_results_head_sha``; any other pipeline through its own ``sha``.
    """
    if (
        pipeline.ref in merged_result_refs(mr.iid)
        or pipeline.merged_results_head_sha is not None
    ):
        return pipeline.merged_results_head_sha == mr.sha
    return pipeline.sha == mr.sha


def merged_result_refs(iid: int) -> tuple[str, str]:
    """The refs of ``!iid``'s merged-results and merge-train pipelines."""
    return (f"refs/merge-requests/{iid}/merge", f"refs/merge-requests/{iid}/train")


def select_head_pipeline(
    pipelines: Iterable[PipelineState], mr: MergeRequestState
) -> PipelineState | None:
    """Return the newest pipeline that tested the head, else the newest at all.

    Returning another SHA's pipeline when none tested the head lets ``decide``
    say what ran instead; it never counts as the head's result.
    """
    candidates = list(pipelines)
    for_head = [pipeline for pipeline in candidates if is_for_head(pipeline, mr)]
    return max(for_head or candidates, key=lambda pipeline: pipeline.id, default=None)


def pipeline_reasons(state: GateInput) -> tuple[Reason, ...]:
    """Why the head pipeline does not (yet) let the merge through."""
    pipeline, mr = state.pipeline, state.mr
    if pipeline is None:
        return (
            Reason("pipeline_missing", f"no pipeline has run for head {mr.sha[:8]}"),
        )
    if not is_for_head(pipeline, mr):
        return (_other_sha(pipeline, mr),)

    status = _pipeline_status_reasons(pipeline, mr)
    return (*status, *_job_reasons(state, finished=not status))


def _other_sha(pipeline: PipelineState, mr: MergeRequestState) -> Reason:
    """Explain that the pipeline at hand did not test the head."""
    if pipeline.merged_results_head_sha is None and pipeline.sha != mr.sha:
        ran_for = pipeline.sha[:8]
    else:
        ran_for = (pipeline.merged_results_head_sha or "an unknown commit")[:8]
    merged = " (merged results)" if pipeline.ref.endswith(("/merge", "/train")) else ""
    return Reason(
        "pipeline_for_other_sha",
        f"pipeline #{pipeline.id}{merged} ran for {ran_for}, head is {mr.sha[:8]}",
    )


def _pipeline_status_reasons(
    pipeline: PipelineState, mr: MergeRequestState
) -> tuple[Reason, ...]:
    """Map the pipeline's status to a reason; success gives none."""
    where = f"pipeline #{pipeline.id} for {mr.sha[:8]}"
    status = pipeline.status
    if status == "success":
        return ()

    if status == "failed":
        code, text = "pipeline_failed", f"{where} failed"
    elif status in RUNNING:
        code, text = "pipeline_running", f"{where} has not finished ({status})"
    elif status in ENDED_UNPASSED:
        code, text = "pipeline_not_passed", f"{where} ended {status}; `retry` reruns it"
    else:
        code, text = (
            "pipeline_not_passed",
            f"{where} has unknown status {code_span(status)}",
        )
    return (Reason(code, text),)


def latest_jobs(jobs: Iterable[JobState]) -> dict[str, JobState]:
    """Return the newest attempt of each job by name (retries have higher ids)."""
    newest: dict[str, JobState] = {}
    for job in jobs:
        if job.name not in newest or job.id >= newest[job.name].id:
            newest[job.name] = job
    return newest


def _job_reasons(state: GateInput, *, finished: bool) -> Iterable[Reason]:
    """Required jobs absent, failed, or (in a finished pipeline) not passed."""
    required = state.policy.required_jobs
    pipeline_id = state.pipeline.id if state.pipeline else 0
    if required and state.jobs is None and not finished:
        # The jobs are read once the pipeline finished: until then they wait.
        for name in required:
            yield Reason(
                "required_job_pending",
                f"required job {code_span(name)} waits for pipeline "
                f"#{pipeline_id} to finish",
            )
        return
    if required and state.jobs is None:
        yield Reason(
            "required_job_missing", f"jobs of pipeline #{pipeline_id} are unknown"
        )
        return

    jobs = latest_jobs(state.jobs or ())
    for name in required:
        job = jobs.get(name)
        if job is None:
            yield Reason(
                "required_job_missing",
                f"required job {code_span(name)} is not in pipeline #{pipeline_id}",
            )
        elif job.status == "failed" or (finished and job.status in ENDED_UNPASSED):
            yield Reason(
                "required_job_failed", f"required job {code_span(name)} {job.status}"
            )
        elif job.status != "success" and finished:
            yield Reason(
                "required_job_pending",
                f"required job {code_span(name)} is {job.status}",
            )


def _failed_jobs(state: GateInput) -> tuple[str, ...]:
    """Names of failed jobs that count: not allowed to fail, or required."""
    required = set(state.policy.required_jobs)
    jobs = latest_jobs(state.jobs or ()).values()
    failed = tuple(
        job.name for job in jobs
        if job.status == "failed" and (not job.allow_failure or job.name in required)
    )  # fmt: skip
    return failed


def _report_failure(state: GateInput, reasons: tuple[Reason, ...]) -> ReportFailure:
    """Build the failure report for the head pipeline."""
    assert state.pipeline is not None  # a failure reason implies a head pipeline
    return ReportFailure(state.mr.sha, state.pipeline.id, _failed_jobs(state), reasons)


_COVERED_BY = {
    "draft_status": ("draft",),
    "not_approved": ("approvals_missing",),
    "ci_must_pass": ("pipeline_", "required_job_"),
    "ci_still_running": ("pipeline_", "required_job_"),
}


def _gitlab_reasons(mr: MergeRequestState, own: set[str]) -> Iterable[Reason]:
    """What GitLab's own mergeability says, unless one of ours already explains it."""
    status = mr.detailed_merge_status
    if mr.has_conflicts or status == "conflict":
        yield Reason(
            "conflict", f"!{mr.iid} conflicts with the target branch; regenerating"
        )
    elif status == "need_rebase":
        yield Reason("need_rebase", "the target branch moved; regenerating")
    elif status in TRANSIENT_MERGE_STATUS:
        yield Reason(
            "checking", f"GitLab is still checking mergeability ({code_span(status)})"
        )
    elif status == "discussions_not_resolved":
        yield Reason("discussions_not_resolved", "open threads must be resolved")
    elif status != "mergeable" and not _is_covered(status, own):
        yield Reason("not_mergeable", f"GitLab reports {code_span(status)}")


def _is_covered(status: str, own: set[str]) -> bool:
    """Whether one of our own reasons already explains GitLab's status."""
    prefixes = _COVERED_BY.get(status, ())
    return any(code.startswith(prefixes) for code in own) if prefixes else False


def merge_response_action(status_code: int) -> Literal["re-evaluate", "head-moved"]:
    """Say what to do after GitLab refused a merge call with ``status_code``.

    409 means the head moved past the SHA guard; 405, 406 and 422 mean "not
    merged" (not mergeable now, or the merge failed), so decide again from a
    fresh read. Any other status is not a merge refusal: ValueError.
    """
    if status_code == 409:
        return "head-moved"
    if status_code in (405, 406, 422):
        return "re-evaluate"
    raise ValueError(f"HTTP {status_code} is not a merge refusal the gate knows")
