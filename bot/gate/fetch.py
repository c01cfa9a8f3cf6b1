"""Read one merge request's gate input from GitLab in as few calls as possible.

When nothing changed, a decision costs 2 calls: the single merge request
(state, head SHA, ``head_pipeline``, ``detailed_merge_status``, labels,
description, ``user_notes_count``) and its approvals, the latter only when
the environment requires approvals. The merge request's notes (every page)
are listed by the caller before, only when their count moved since they were
last reconciled (``GateNotes.command_notes``): then it is 3. Jobs are read
only when the environment names required jobs and the head pipeline has
finished. A merged-results or merge-train head pipeline (ref
``refs/merge-requests/<iid>/merge`` or ``/train``) costs one more call the
first time: its merge commit, whose second parent is the source head it
tested (``merged_results_head_sha``). What cannot change for a given key is
remembered: a head's push time per merge request and SHA, a merge commit's
parents per SHA, the jobs of a finished pipeline per (id, status,
``updated_at``), an approver's access and groups for ``ACCESS_TTL_SECONDS``.
For an environment that uses GitLab's auto-merge, the project's "Pipelines
must succeed" setting is read once per ``SETTINGS_TTL_SECONDS``, not per
decision.

The head's push time is when GitLab recorded the diff version of that head
(its own clock, milliseconds), read once per head from the newest versions:
a commit's dates are set by whoever pushed it, to the second. Only when
GitLab lists no version of the head (it records one on every push, so this
means an unexpected GitLab) does the later of the commit's date and the
newest version stand in, uncached, so that the next read looks again.

Known window: a member removed from the project or from an eligible group
keeps an approval that counts until their cached access ages out, up to
``ACCESS_TTL_SECONDS`` (60 s) after the last read. Dropping the entry on a
member event would need group webhooks (Premium) or system hooks: project
webhooks, all the bot receives, carry no membership change. The window
stays, bounded by the TTL.

A ``merge`` command that could not merge at once counts while the notes'
ledger says it was answered for the record's current tag (or digest); the
``gitops-merge::requested`` label only shows it. The ledger also says
whether a ``hold`` is in force (``bot.chatops.ledger``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot import policy
from bot.chatops.ledger import merge_key
from bot.config import Config, EnvironmentConfig
from bot.gate.decide import is_for_head, merged_result_refs
from bot.gate.model import (
    Approver,
    CommandNotes,
    FreezeState,
    GateInput,
    GatePolicy,
    JobState,
    MergeRequestState,
    PipelineState,
)
from bot.gitlab import (
    ApprovedBy,
    DiffVersion,
    GitLab,
    MergeRequest,
    PipelineRef,
    ProjectSettings,
)
from bot.record import DeployRecord, parse_marker

ACCESS_TTL_SECONDS = 60.0
# How long the project's "Pipelines must succeed" is believed: a change made
# in GitLab's settings shows within this time.
SETTINGS_TTL_SECONDS = 600.0
COMMITS_CACHE_SIZE = 256
# The head is the newest version; a page of 20 also covers pushes that land
# between reading the merge request and reading its versions.
VERSIONS_READ = 20
FINISHED = frozenset({"success", "failed", "canceled", "skipped"})
JOBS_CACHE_SIZE = 256
NO_NOTES = CommandNotes()


@dataclass(frozen=True)
class Fetched:
    """A bot merge request as read, its record, and the gate's input."""

    mr: MergeRequest
    record: DeployRecord
    environment: EnvironmentConfig
    state: GateInput


class GateReader:
    """Builds ``GateInput`` values, caching what never (or rarely) changes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Start with empty caches; ``clock`` ages the access cache."""
        self._clock = clock
        self._pushed_at: dict[int, tuple[str, datetime]] = {}
        self._access: dict[tuple[int, tuple[str, ...]], tuple[float, Approver]] = {}
        self._jobs_of: dict[tuple[int, str, str], tuple[JobState, ...]] = {}
        self._parents: dict[str, tuple[str, ...]] = {}
        self._settings: tuple[float, ProjectSettings] | None = None

    async def read(
        self,
        config: Config,
        gitlab: GitLab,
        iid: int,
        *,
        merge_requested: bool = False,
        freeze_overridden: bool = False,
        now: datetime | None = None,
        notes: CommandNotes = NO_NOTES,
        mr: MergeRequest | None = None,
    ) -> Fetched | None:
        """Read ``!iid``; None when it is not a bot merge request we can read.

        ``notes`` is what the caller read from the notes listing (unanswered
        commands, who held and why); it costs no call here, nor does ``mr``,
        ``!iid`` as the caller just read it.
        """
        bot_id, _ = await gitlab.fetch_current_user()
        mr = mr or await gitlab.fetch_merge_request(iid)
        record = parse_marker(mr.description)
        if mr.author_id != bot_id or record is None:
            return None
        if record.environment not in config.environments:
            return None

        environment = config.environment(record.environment)
        gate_policy = policy_for(environment, now or datetime.now(UTC))
        mr_state = merge_request_state(mr)
        pipeline = await self._pipeline(gitlab, mr_state, mr.head_pipeline)
        state = GateInput(
            mr=mr_state,
            pipeline=pipeline,
            jobs=await self._jobs(gitlab, mr, gate_policy, pipeline),
            approvers=(),
            bot_user_id=bot_id,
            requester_username=record.requested_by,
            policy=gate_policy,
            now=now or datetime.now(UTC),
            pin=record.pin,
            merge_requested=merge_requested or _merge_remembered(notes, record),
            freeze_overridden=freeze_overridden,
            hold_reason=notes.hold_reason,
            held_by=notes.held_by,
            pending_commands=notes.pending,
            held_by_command=notes.held,
            pipeline_must_succeed=await self._pipeline_must_succeed(
                gitlab, gate_policy
            ),
        )
        if gate_policy.required_approvals > 0:
            state = await self._with_approvals(gitlab, state)
        return Fetched(mr, record, environment, state)

    async def _pipeline_must_succeed(
        self, gitlab: GitLab, gate_policy: GatePolicy
    ) -> bool:
        """The project's "Pipelines must succeed", read only for an environment
        that uses GitLab's auto-merge, at most once per ``SETTINGS_TTL_SECONDS``
        (so it costs no call per decision)."""
        if gate_policy.merge_method != "gitlab_auto_merge":
            return False
        cached = self._settings
        if cached is None or self._clock() - cached[0] > SETTINGS_TTL_SECONDS:
            cached = (self._clock(), await gitlab.fetch_project_settings())
            self._settings = cached
        return cached[1].pipeline_must_succeed

    async def _pipeline(
        self, gitlab: GitLab, mr: MergeRequestState, ref: PipelineRef | None
    ) -> PipelineState | None:
        """The head pipeline; a merged-results one with the source head it merged.

        A merged-results (or merge-train) pipeline runs on a merge commit
        whose second parent is the source commit it merged; the commit is read
        once per SHA (a commit never changes).
        """
        pipeline = pipeline_state(ref)
        if pipeline is None or pipeline.ref not in merged_result_refs(mr.iid):
            return pipeline
        if pipeline.sha not in self._parents:
            if len(self._parents) >= COMMITS_CACHE_SIZE:
                self._parents.clear()
            commit = await gitlab.fetch_commit(pipeline.sha)
            self._parents[pipeline.sha] = commit.parent_ids
        return with_merged_head(pipeline, self._parents[pipeline.sha])

    async def _jobs(
        self,
        gitlab: GitLab,
        mr: MergeRequest,
        gate_policy: GatePolicy,
        head: PipelineState | None,
    ) -> tuple[JobState, ...] | None:
        """The head pipeline's jobs, read only when required jobs are checked.

        ``head`` is the gate's view of ``mr.head_pipeline``: the jobs are read
        only once that pipeline finished for the merge request's head.
        """
        pipeline = mr.head_pipeline
        if not gate_policy.required_jobs or pipeline is None or head is None:
            return None
        if pipeline.status not in FINISHED:
            return None
        if not is_for_head(head, merge_request_state(mr)):
            return None
        if not pipeline.updated_at:
            return await fetch_job_states(gitlab, pipeline.id)

        # A retry moves the pipeline (status and updated_at) before any job
        # changes, so a finished pipeline's jobs are stable for this key.
        key = (pipeline.id, pipeline.status, pipeline.updated_at)
        if key not in self._jobs_of:
            if len(self._jobs_of) >= JOBS_CACHE_SIZE:
                self._jobs_of.clear()
            self._jobs_of[key] = await fetch_job_states(gitlab, pipeline.id)
        return self._jobs_of[key]

    async def _with_approvals(self, gitlab: GitLab, state: GateInput) -> GateInput:
        """Add the approvers, their access, and when the head was pushed.

        The push time is read even without approvers: GitLab drops the
        approvals on a push (Premium's reset on push), and ``status`` must
        say so rather than just count zero.
        """
        approvals = await gitlab.fetch_approvals(state.mr.iid)
        pushed = await self._pushed_at_of(gitlab, state.mr.iid, state.mr.sha)
        groups = state.policy.eligible_groups
        approvers = tuple(
            [await self._approver(gitlab, entry, groups) for entry in approvals.entries]
        )
        return replace(state, approvers=approvers, head_pushed_at=pushed)

    async def _approver(
        self, gitlab: GitLab, entry: ApprovedBy, groups: tuple[str, ...]
    ) -> Approver:
        """The approver with project access and eligible groups (cached)."""
        key = (entry.user_id, groups)
        cached = self._access.get(key)
        if cached is None or self._clock() - cached[0] > ACCESS_TTL_SECONDS:
            level = await gitlab.fetch_member_access(entry.user_id)
            member_of = tuple(
                [
                    group
                    for group in groups
                    if await gitlab.fetch_group_member_access(group, entry.user_id)
                ]
            )
            approver = Approver(entry.user_id, entry.username, level, member_of)
            cached = (self._clock(), approver)
            self._access[key] = cached
        return Approver(
            cached[1].user_id,
            entry.username,
            cached[1].access_level,
            cached[1].groups,
            approved_at=parse_time(entry.approved_at),
        )

    async def _pushed_at_of(
        self, gitlab: GitLab, iid: int, sha: str
    ) -> datetime | None:
        """When GitLab recorded ``sha`` as the head of ``!iid`` (cached per head).

        Only the current head of each merge request is remembered: a head that
        goes and comes back (A, B, A) is read again, as its newest version.
        """
        cached = self._pushed_at.get(iid)
        if cached is not None and cached[0] == sha:
            return cached[1]

        versions = await gitlab.fetch_merge_request_versions(iid, newest=VERSIONS_READ)
        recorded = version_time(versions, sha)
        if recorded is None:
            return await self._unrecorded_push_time(gitlab, versions, sha)
        if len(self._pushed_at) >= COMMITS_CACHE_SIZE:
            self._pushed_at.clear()
        self._pushed_at[iid] = (sha, recorded)
        return recorded

    async def _unrecorded_push_time(
        self, gitlab: GitLab, versions: tuple[DiffVersion, ...], sha: str
    ) -> datetime | None:
        """A head without a version: the later of its commit date and the
        newest version, so that an approval counts only if it is later still."""
        commit = await gitlab.fetch_commit(sha)
        known = [parse_time(commit.committed_date)]
        known += [parse_time(version.created_at) for version in versions[:1]]
        times = [moment for moment in known if moment is not None]
        return max(times, default=None)


def _merge_remembered(notes: CommandNotes, record: DeployRecord) -> bool:
    """Whether the notes remember an authorised ``merge`` for this tag."""
    wanted = notes.merge_requested_for
    return wanted is not None and wanted == merge_key(record)


async def fetch_job_states(gitlab: GitLab, pipeline_id: int) -> tuple[JobState, ...]:
    """The jobs of a pipeline as the gate reads them."""
    jobs = await gitlab.fetch_pipeline_jobs(pipeline_id)
    return tuple(
        JobState(job.name, job.status, job.allow_failure, job.id) for job in jobs
    )


def version_time(versions: tuple[DiffVersion, ...], sha: str) -> datetime | None:
    """When the newest version whose head is ``sha`` was recorded, or None."""
    for version in versions:
        if version.head_commit_sha == sha:
            return parse_time(version.created_at)
    return None


def policy_for(environment: EnvironmentConfig, now: datetime) -> GatePolicy:
    """The gate's view of an environment's configuration at ``now``."""
    approvals = environment.approvals
    frozen = policy.is_frozen(environment, now)
    return GatePolicy(
        environment=environment.name,
        required_approvals=approvals.required,
        eligible_groups=tuple(approvals.groups),
        eligible_users=tuple(approvals.users),
        min_access_level=int(approvals.min_access_level),
        count_requester=approvals.count_requester,
        required_jobs=tuple(environment.required_jobs),
        auto_merge=environment.auto_merge,
        merge_method=environment.merge_method,  # type: ignore[arg-type]
        freeze=None if frozen is None else FreezeState(frozen.reason, frozen.until),
    )


def merge_request_state(mr: MergeRequest) -> MergeRequestState:
    """The gate's view of a merge request entity."""
    return MergeRequestState(
        iid=mr.iid,
        state=mr.state,
        draft=mr.draft,
        sha=mr.sha or "",
        detailed_merge_status=mr.detailed_merge_status or "unchecked",
        has_conflicts=mr.has_conflicts,
        labels=mr.labels,
        merge_when_pipeline_succeeds=mr.merge_when_pipeline_succeeds,
        recorded_commit=_recorded_commit(mr),
    )


def _recorded_commit(mr: MergeRequest) -> str | None:
    """The branch commit the bot's record in ``mr`` names, if any."""
    record = parse_marker(mr.description)
    return None if record is None else record.commit


def with_merged_head(
    pipeline: PipelineState, parent_ids: tuple[str, ...]
) -> PipelineState:
    """A merged-results pipeline naming the source head its merge commit merged.

    GitLab writes the merge commit with the target head first and the source
    head second; a commit without a second parent names no head, so the
    pipeline then counts for nothing.
    """
    head = parent_ids[1] if len(parent_ids) > 1 else None
    return replace(pipeline, merged_results_head_sha=head)


def pipeline_state(pipeline: PipelineRef | None) -> PipelineState | None:
    """The gate's view of the head pipeline."""
    if pipeline is None:
        return None
    return PipelineState(
        id=pipeline.id,
        sha=pipeline.sha,
        status=pipeline.status,
        source=pipeline.source,
        ref=pipeline.ref,
        created_at=parse_time(pipeline.created_at),
    )


def parse_time(text: str) -> datetime | None:
    """Read GitLab's ISO 8601 time (``Z`` or an offset); None when absent."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
