"""Mergeability of a merge request, as GitLab reports it (pure).

GitLab answers two fields: the legacy ``merge_status`` (git mergeability
only) and ``detailed_merge_status`` (every merge check). The checks run in
GitLab's order (``MergeRequest.all_mergeability_checks`` plus the EE
approval check): open, draft, commits, conflict, rebase, approvals; the CI
check runs last because GitLab reports it only when everything else passes
(``DetailedMergeStatusService``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

FF_MERGE_METHODS = frozenset({"ff", "rebase_merge"})
PIPELINE_ACTIVE = frozenset(
    {
        "created",
        "waiting_for_resource",
        "preparing",
        "waiting_for_callback",
        "pending",
        "running",
        "canceling",
        "scheduled",
    }
)
PIPELINE_GREEN = frozenset({"success"})
PIPELINE_GREEN_WHEN_SKIPS_ALLOWED = frozenset({"success", "skipped"})


@dataclass(frozen=True)
class MergeFacts:
    """What the status depends on, gathered from the MR, its repo and project."""

    state: str
    draft: bool
    checking: bool
    source_exists: bool
    has_commits: bool
    has_conflicts: bool
    behind_target: bool
    merge_method: str = "merge"
    pipeline_must_succeed: bool = False
    allow_merge_on_skipped_pipeline: bool = False
    pipeline_status: str | None = None
    approvals_left: int = 0


def detailed_merge_status(facts: MergeFacts) -> str:
    """Return GitLab's ``detailed_merge_status`` for ``facts``."""
    if facts.state != "opened":
        return "not_open"

    if facts.checking:
        return "checking"

    failed = first_failed_check(facts)
    if failed is not None:
        return failed

    return ci_status(facts) or "mergeable"


def first_failed_check(facts: MergeFacts) -> str | None:
    """Return the first failing non-CI merge check of an open MR, if any."""
    if facts.draft:
        return "draft_status"

    if not facts.source_exists or not facts.has_commits:
        return "commits_status"

    if facts.has_conflicts:
        return "conflict"

    if needs_rebase(facts):
        return "need_rebase"

    if facts.approvals_left > 0:
        return "not_approved"

    return None


def needs_rebase(facts: MergeFacts) -> bool:
    """Whether a fast-forward merge method finds the source behind its target."""
    return facts.merge_method in FF_MERGE_METHODS and facts.behind_target


def ci_status(facts: MergeFacts) -> str | None:
    """Return ``ci_still_running`` / ``ci_must_pass`` when CI blocks the merge."""
    if not facts.pipeline_must_succeed:
        return None

    if facts.pipeline_status in PIPELINE_ACTIVE:
        return "ci_still_running"

    green = (
        PIPELINE_GREEN_WHEN_SKIPS_ALLOWED
        if facts.allow_merge_on_skipped_pipeline
        else PIPELINE_GREEN
    )
    if facts.pipeline_status in green:
        return None

    return "ci_must_pass"


def merge_status(facts: MergeFacts) -> str:
    """Return the legacy ``merge_status``, which reflects git mergeability only."""
    if facts.checking and facts.state == "opened":
        return "checking"

    if facts.has_conflicts or not facts.source_exists:
        return "cannot_be_merged"

    return "can_be_merged"


def has_conflicts(facts: MergeFacts) -> bool:
    """GitLab's ``has_conflicts``: true only when git says the MR cannot merge."""
    return facts.has_conflicts and merge_status(facts) == "cannot_be_merged"


def is_mergeable(facts: MergeFacts) -> bool:
    """Whether an immediate merge may go ahead (``detailed`` would be mergeable).

    The ``checking`` window is ignored: the merge runs its own check.
    """
    return detailed_merge_status(replace(facts, checking=False)) == "mergeable"


def is_pipeline_running(status: str | None) -> bool:
    """Whether a head pipeline with ``status`` has not finished yet."""
    return status in PIPELINE_ACTIVE
