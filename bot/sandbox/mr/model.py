"""Stored records of the merge-request part of the sandbox.

Records are plain mutable dataclasses with JSON-serialisable fields, as the
core's ``Store`` requires; ``id`` 0 means "not stored yet". Timestamps are
strings in GitLab's format (``http.iso``). Labels on a merge request are kept
as label ids so a renamed label stays attached.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MERGE_REQUESTS = "merge_requests"
NOTES = "notes"
AWARD_EMOJI = "award_emoji"
APPROVALS = "approvals"
APPROVAL_RULES = "approval_rules"
LABELS = "labels"
DIFF_VERSIONS = "merge_request_diffs"

DRAFT_PREFIXES = ("draft:", "[draft]", "(draft)")


@dataclass
class MergeRequest:
    """A merge request inside one project (source and target project alike)."""

    project_id: int
    iid: int
    title: str
    source_branch: str
    target_branch: str
    author_id: int
    created_at: str
    updated_at: str
    id: int = 0
    description: str = ""
    state: str = "opened"
    label_ids: list[int] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    reviewer_ids: list[int] = field(default_factory=list)
    sha: str | None = None
    base_sha: str | None = None
    start_sha: str | None = None
    has_conflicts: bool = False
    checking_reads_left: int = 0
    squash: bool = False
    force_remove_source_branch: bool = False
    should_remove_source_branch: bool | None = None
    merge_when_pipeline_succeeds: bool = False
    merge_user_id: int | None = None
    merged_by_id: int | None = None
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    closed_by_id: int | None = None
    closed_at: str | None = None
    merge_error: str | None = None
    last_edited_at: str | None = None
    last_edited_by_id: int | None = None

    @property
    def draft(self) -> bool:
        """Whether the title marks the merge request as a draft."""
        return is_draft_title(self.title)


@dataclass
class Note:
    """A comment on a merge request; ``system`` notes record events."""

    project_id: int
    mr_id: int
    author_id: int
    body: str
    created_at: str
    updated_at: str
    id: int = 0
    system: bool = False
    internal: bool = False


@dataclass
class AwardEmoji:
    """An emoji reaction on a merge request or on one of its notes."""

    name: str
    user_id: int
    awardable_type: str
    awardable_id: int
    created_at: str
    updated_at: str
    id: int = 0


@dataclass
class Approval:
    """One user's approval of one merge request."""

    mr_id: int
    user_id: int
    created_at: str
    id: int = 0


@dataclass
class ApprovalRule:
    """A merge-request approval rule (premium tier)."""

    mr_id: int
    name: str
    approvals_required: int
    id: int = 0
    user_ids: list[int] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    rule_type: str = "regular"
    approval_project_rule_id: int | None = None


@dataclass
class Label:
    """A project label; ``key::value`` titles are scoped on premium."""

    project_id: int
    name: str
    color: str
    created_at: str
    updated_at: str
    id: int = 0
    description: str | None = None
    priority: int | None = None


@dataclass
class DiffVersion:
    """One diff version of a merge request: its heads when GitLab recorded it.

    GitLab records one on creation and on each reload of the diff (a push to
    the source branch, a new target branch, a reopen); ``created_at`` is the
    server's clock, unlike a commit's dates, which the pusher sets.
    """

    mr_id: int
    head_commit_sha: str
    base_commit_sha: str | None
    start_commit_sha: str | None
    created_at: str
    real_size: str
    id: int = 0
    state: str = "collected"


RECORDS: dict[str, type] = {
    MERGE_REQUESTS: MergeRequest,
    NOTES: Note,
    AWARD_EMOJI: AwardEmoji,
    APPROVALS: Approval,
    APPROVAL_RULES: ApprovalRule,
    LABELS: Label,
    DIFF_VERSIONS: DiffVersion,
}


def is_draft_title(title: str) -> bool:
    """Tell whether ``title`` starts with one of GitLab's draft prefixes."""
    lowered = title.lstrip().lower()
    return lowered.startswith(DRAFT_PREFIXES)


def label_scope(name: str) -> str | None:
    """Return the scope of a ``key::value`` label (text before the last ``::``)."""
    if "::" not in name:
        return None
    return name.rsplit("::", 1)[0]
