"""When GitLab's auto-merge is safe to ask for, and what its answer means.

GitLab's auto-merge (``merge`` with ``auto_merge``) merges at once when no
pipeline is running any more. Unless the project requires pipelines to
succeed (``only_allow_merge_if_pipeline_succeeds``), that includes a head
pipeline that failed between the gate's read and the request: the merge
happens on a failed pipeline. So ``decide`` asks for auto-merge only with
that setting on (``GateInput.pipeline_must_succeed``); otherwise it waits
and merges itself, SHA-guarded, and this module says so once per process.
A merge at once is still checked against the head pipeline GitLab reports.
"""

from __future__ import annotations

from dataclasses import replace

import structlog

from bot.gate.decide import is_for_head
from bot.gate.fetch import pipeline_state
from bot.gate.model import GateInput
from bot.gitlab import MergeRequest

log = structlog.get_logger(__name__)

SETTING = "only_allow_merge_if_pipeline_succeeds"
_warned: set[str] = set()


def warn_if_not_used(state: GateInput) -> None:
    """Log once per process that ``gitlab_auto_merge`` is not used, and why."""
    if state.policy.merge_method != "gitlab_auto_merge":
        return
    if state.pipeline_must_succeed or SETTING in _warned:
        return

    _warned.add(SETTING)
    log.warning(
        "gitlab_auto_merge_not_used",
        environment=state.policy.environment,
        setting=SETTING,
        detail="the GitOps project does not require pipelines to succeed, so "
        "GitLab would merge a pipeline that failed meanwhile at once; the bot "
        "waits for the pipeline and merges itself",
    )


def unpassed_merge(answer: MergeRequest, state: GateInput, sha: str) -> str | None:
    """Say why GitLab's answer, a merge at once, lacks a passed pipeline for
    ``sha``; None when it merged on one (or did not merge)."""
    if answer.state != "merged" or passed_for_head(answer, state):
        return None
    pipeline = answer.head_pipeline
    status = "none" if pipeline is None else f"#{pipeline.id} {pipeline.status}"
    return (
        f"GitLab merged !{answer.iid} at once on an auto-merge request without "
        f"a passed pipeline for {sha[:8]} (head pipeline: {status})"
    )


def passed_for_head(answer: MergeRequest, state: GateInput) -> bool:
    """Whether the head pipeline in GitLab's answer passed for the gate's head;
    a merged-results one counts through the head the gate's read resolved."""
    pipeline = pipeline_state(answer.head_pipeline)
    if pipeline is None or pipeline.status != "success":
        return False

    known = state.pipeline
    if known is not None and known.id == pipeline.id:
        merged_head = known.merged_results_head_sha
        pipeline = replace(pipeline, merged_results_head_sha=merged_head)
    return is_for_head(pipeline, state.mr)
