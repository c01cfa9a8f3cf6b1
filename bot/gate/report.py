"""The Markdown answer to ``/gitops status``: the verdict, every blocker, the facts."""

from __future__ import annotations

import re

from bot.gate.approvals import count_approvals
from bot.gate.model import (
    CancelAutoMerge,
    Decision,
    GateInput,
    Merge,
    Regenerate,
    ReportFailure,
    Wait,
)
from bot.record import code_span, inline_text

# A merge request in these states is done with: no blocker is worth listing.
FINAL_STATES = frozenset({"merged", "closed"})


def status_report(decision: Decision, state: GateInput) -> str:
    """Render the gate's decision for a reviewer: what happens, and why."""
    where = f"!{state.mr.iid} ({inline_text(state.policy.environment)})"
    lines = [f"**Merge gate for {where}**: {_verdict(decision, state)}", ""]
    if decision.reasons:
        lines += ["Blocking:" if state.mr.state == "opened" else "Why:", ""]
        lines += [f"- `{reason.code}`: {reason.text}"
                  for reason in decision.reasons]  # fmt: skip
        lines.append("")

    lines += ["Facts:", "", *(f"- {fact}" for fact in _facts(state))]
    return _defuse_references("\n".join(lines))


def _verdict(decision: Decision, state: GateInput) -> str:
    """One sentence on what the bot does next."""
    head = code_span(state.mr.sha[:8])
    if state.mr.state in FINAL_STATES:
        return f"{state.mr.state}; nothing to do"
    if state.mr.state != "opened":
        return f"{inline_text(state.mr.state)}; the gate acts on open merge requests"
    if isinstance(decision, Merge) and decision.auto_merge:
        return f"ready; GitLab's auto-merge is set for head {head}"
    if isinstance(decision, Merge):
        return f"ready; merging head {head}"
    if isinstance(decision, Regenerate):
        return f"the branch is being rebuilt ({decision.reason.code})"
    if isinstance(decision, ReportFailure):
        jobs = ", ".join(map(code_span, decision.failed_jobs))
        failed = f"pipeline #{decision.pipeline_id} failed for {head}"
        return f"{failed} ({jobs})" if jobs else failed
    if isinstance(decision, CancelAutoMerge):
        return "GitLab's auto-merge is cancelled while the bot's rules block"
    assert isinstance(decision, Wait)
    count = len(decision.reasons)
    return f"waiting on {count} blocker{'s' if count != 1 else ''}"


def _defuse_references(text: str) -> str:
    """Keep ``#7`` (a pipeline id in our texts) from linking to issue 7.

    A zero-width space after ``#`` breaks GitLab's issue reference.
    """
    return re.sub(r"#(?=\d)", "#\u200b", text)


def _facts(state: GateInput) -> list[str]:
    """The state the decision was made on, for the reviewer to check."""
    pipeline = state.pipeline
    pipeline_fact = (
        "none"
        if pipeline is None
        else (
            f"#{pipeline.id} {pipeline.status} for {code_span(pipeline.sha[:8])} "
            f"({inline_text(pipeline.source)}, {code_span(pipeline.ref or '?')})"
        )
    )
    counted = count_approvals(state).counted
    who = ", ".join(code_span(approver.username) for approver in counted) or "none"
    facts = [
        f"Head: {code_span(state.mr.sha)}; GitLab says "
        f"{code_span(state.mr.detailed_merge_status)}",
        f"Pipeline: {pipeline_fact}",
        f"Approvals: {len(counted)} of {state.policy.required_approvals} ({who})",
    ]
    if state.policy.merge_method == "gitlab_auto_merge":
        facts.append(_auto_merge_fact(state))
    if state.pin is not None:
        by = f" by {code_span(state.pin.by)}" if state.pin.by else ""
        why = f": {inline_text(state.pin.reason)}" if state.pin.reason else ""
        facts.append(f"Pinned to {code_span(state.pin.tag)}{by}{why}")
    return facts


def _auto_merge_fact(state: GateInput) -> str:
    """Whether GitLab's auto-merge is used, given the project's setting."""
    setting = code_span("only_allow_merge_if_pipeline_succeeds")
    if state.pipeline_must_succeed:
        return f"GitLab's auto-merge: used (the project has {setting} on)"
    return (
        f"GitLab's auto-merge: not used, as the project has {setting} off (it "
        "would merge a pipeline that just failed); the bot merges itself once "
        "the pipeline passed"
    )
