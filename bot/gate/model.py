"""What the merge gate looks at, and what it decides: plain frozen values.

The adapter fetches GitLab's view of one merge request and fills a
``GateInput``; ``bot.gate.decide`` turns it into exactly one ``Decision``.
Every decision carries all the blocking reasons found, so ``status`` can
explain each of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.record import Pin

HOLD_LABEL = "gitops::hold"
# Put on by a `merge` command the gate could not carry out at once: the gate
# treats it as that command until the merge request merges or changes tag.
# Its scope is its own, not ``gitops``: on GitLab Premium a label of the
# ``gitops`` scope would evict ``gitops::hold`` or be evicted by it.
MERGE_REQUESTED_LABEL = "gitops-merge::requested"
MergeMethod = Literal["bot", "gitlab_auto_merge"]


@dataclass(frozen=True)
class MergeRequestState:
    """The merge request as GitLab reports it (single-MR endpoint).

    ``recorded_commit`` is the branch commit the bot's record says it wrote
    (None for a record from before it was kept): another head is someone
    else's push.
    """

    iid: int
    state: str
    draft: bool
    sha: str
    detailed_merge_status: str
    has_conflicts: bool = False
    labels: tuple[str, ...] = ()
    merge_when_pipeline_succeeds: bool = False
    recorded_commit: str | None = None


@dataclass(frozen=True)
class PipelineState:
    """One pipeline of the merge request.

    ``merged_results_head_sha`` is the explicit merged-results flag: a
    merged-results (or merge-train) pipeline runs on a temporary merge commit,
    so its ``sha`` never equals the head. Such a pipeline counts for the head
    only when the adapter has checked which source commit it merged (the merge
    commit's second parent) and passes it here; otherwise it never counts.
    """

    id: int
    sha: str
    status: str
    source: str = "merge_request_event"
    ref: str = ""
    created_at: datetime | None = None
    merged_results_head_sha: str | None = None


@dataclass(frozen=True)
class JobState:
    """One job of the pipeline; a retried job appears again with a higher id."""

    name: str
    status: str
    allow_failure: bool = False
    id: int = 0


@dataclass(frozen=True)
class Approver:
    """Someone who approved, with what makes their approval count or not.

    ``groups`` lists every group path the user belongs to, inherited
    membership included (GitLab ``members/all``).
    """

    user_id: int
    username: str
    access_level: int
    groups: tuple[str, ...] = ()
    approved_at: datetime | None = None


@dataclass(frozen=True)
class FreezeState:
    """A freeze in force, computed from the environment's windows elsewhere.

    ``until`` None means until further notice; the gate also treats a freeze
    whose ``until`` has passed as over.
    """

    description: str
    until: datetime | None = None


@dataclass(frozen=True)
class GatePolicy:
    """The environment's merge rules, taken from its configuration."""

    environment: str
    required_approvals: int = 0
    eligible_groups: tuple[str, ...] = ()
    eligible_users: tuple[str, ...] = ()
    min_access_level: int = 30
    count_requester: bool = False
    required_jobs: tuple[str, ...] = ()
    auto_merge: bool = True
    merge_method: MergeMethod = "bot"
    freeze: FreezeState | None = None


@dataclass(frozen=True)
class CommandNotes:
    """What the merge request's notes tell the gate, from one notes listing.

    ``pending`` holds the ids of comment commands the bot has not answered
    yet: while any is left the gate never merges (a lost ``hold`` wins).
    ``held_by`` and ``hold_reason`` come from the note whose ``hold`` the bot
    applied last, when no ``unhold`` came after it; ``held`` says such a
    ``hold`` is in force (even if its note was deleted).
    ``merge_requested_for`` is the tag (or digest) an authorised ``merge``
    the bot answered last was remembered for.
    """

    pending: tuple[int, ...] = ()
    held_by: str | None = None
    hold_reason: str | None = None
    held: bool = False
    merge_requested_for: str | None = None


@dataclass(frozen=True)
class GateInput:
    """Everything one gate decision needs, fetched by the adapter beforehand.

    ``jobs`` is None when the pipeline's jobs were not fetched.
    ``head_pushed_at`` is when GitLab recorded the diff version whose head is
    the merge request's head (its clock, not the commit's dates); approvals
    older than that, or without a time, do not count.
    ``merge_requested`` says a ``merge`` command asked for this merge (needed
    when the policy has ``auto_merge`` off); ``freeze_overridden`` says that
    command came from someone with the environment's override level.
    ``pending_commands`` lists comment commands not answered yet (note ids).
    ``held_by_command`` says the notes hold it (a ``hold`` answered last).
    ``pipeline_must_succeed`` is the GitOps project's "Pipelines must
    succeed" (``only_allow_merge_if_pipeline_succeeds``): only with it on is
    GitLab's auto-merge asked for, as without it GitLab merges at once a
    merge request whose pipeline failed in the meantime.
    """

    mr: MergeRequestState
    pipeline: PipelineState | None
    jobs: tuple[JobState, ...] | None
    approvers: tuple[Approver, ...]
    bot_user_id: int
    requester_username: str | None
    policy: GatePolicy
    now: datetime
    hold_reason: str | None = None
    held_by: str | None = None
    pending_commands: tuple[int, ...] = ()
    pin: Pin | None = None
    head_pushed_at: datetime | None = None
    merge_requested: bool = False
    freeze_overridden: bool = False
    held_by_command: bool = False
    pipeline_must_succeed: bool = False

    @property
    def held(self) -> bool:
        """Whether a ``hold`` is in force, or the hold label is on (one put on
        by hand holds too; taking it off by hand lifts nothing)."""
        return self.held_by_command or HOLD_LABEL in self.mr.labels


@dataclass(frozen=True)
class Reason:
    """One thing that blocks the merge: a stable code and a sentence.

    ``text`` is Markdown: values from outside (hold reasons, GitLab statuses,
    job names) are already quoted or escaped in it.
    """

    code: str
    text: str


@dataclass(frozen=True)
class Merge:
    """Merge now, naming ``sha`` as the guard (or set GitLab's auto-merge)."""

    sha: str
    auto_merge: bool = False
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Wait:
    """Do nothing yet; ``reasons`` says why."""

    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Regenerate:
    """Rebuild the branch from the target head (conflict, need_rebase, or a
    head the bot did not write: ``foreign_commit``)."""

    reason: Reason
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class ReportFailure:
    """The head pipeline failed: label the merge request, comment once per SHA.

    ``failed_jobs`` may be empty when the jobs were not fetched.
    """

    sha: str
    pipeline_id: int
    failed_jobs: tuple[str, ...]
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class CancelAutoMerge:
    """GitLab's auto-merge is set but a rule GitLab does not know blocks it."""

    reasons: tuple[Reason, ...]


Decision = Merge | Wait | Regenerate | ReportFailure | CancelAutoMerge
