"""Carrying out the merge gate's decision on one merge request.

``MergeGate.run(context, iid)`` reads the input (``bot.gate.fetch``), asks
the pure ``decide``, and acts. The input includes what the merge request's
notes say (comment commands not answered yet, who held it and why): the
caller passes it from the notes listing it already read, or the gate reads
the merge request first and lists the notes itself only when GitLab's count
of them moved since they were last reconciled (``bot.gate.notes``).

- ``Merge``: drop the failure label, merge naming the head SHA, then read the
  merge request back; only a ``merged`` state read from GitLab counts. A
  405/406/409/422 answer decides again from a fresh read, unless the
  adapter's ``merge`` found the MR merged at our SHA (an answer lost after
  GitLab merged): that is our merge.
- ``Wait``: nothing; while GitLab is still checking mergeability, read again
  a few times with a growing pause (never merge during ``checking``).
- ``ReportFailure``: the ``gitops::pipeline-failed`` label (never while
  held, see ``FAILED_LABEL``), then one comment per head SHA, found again
  after a restart by its hidden marker.
- ``Regenerate``: rebuild the branch through the deploy flow, not forced:
  an MR whose target moved to a newer tag meanwhile is closed with a note.
- ``CancelAutoMerge``: cancel GitLab's auto-merge.

Work on one merge request is single-flight: a sweep, a webhook and a command
never act on it at once (``hold``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from bot import deploy, policy
from bot.gate import automerge
from bot.gate.decide import decide, merge_response_action
from bot.gate.fetch import Fetched, GateReader, fetch_job_states
from bot.gate.model import (
    CancelAutoMerge,
    CommandNotes,
    Decision,
    Merge,
    Reason,
    Regenerate,
    ReportFailure,
    Wait,
)
from bot.gate.notes import GateNotes
from bot.gitlab import GitLab, GitLabConflict, GitLabRejected, MergeRequest
from bot.record import DeployRecord, code_span

if TYPE_CHECKING:
    from bot.server.router import HandlerContext

log = structlog.get_logger(__name__)

# GitLab Premium keeps one label per scope on a merge request (scoped labels,
# https://docs.gitlab.com/user/project/labels/#scoped-labels), and this label
# shares the scope ``gitops`` with ``gitops::hold``: adding it would silently
# remove a hold. So it is never added while the hold is on; once the hold is
# lifted and the head pipeline is still failed, the gate adds it then. Adding
# a hold drops it in turn, so nothing relies on it being there: the failure
# comment is found by its marker, and ``status`` reads the pipeline.
FAILED_LABEL = "gitops::pipeline-failed"
FAILURE_MARKER = "<!-- gitops-bot:pipeline-failed {sha} -->"
MERGE_ATTEMPTS = 3
CHECKING_POLLS = (0.2, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class GateOutcome:
    """What one run of the gate did: ``action`` and the decision behind it.

    ``action`` is one of ``merged``, ``auto-merge-set``, ``waiting``,
    ``regenerated``, ``closed`` (the target already holds a newer tag than
    the MR: rebuilding it would roll back), ``reported``,
    ``auto-merge-cancelled``, ``not-merged``
    (GitLab refused or did not merge) and ``skipped`` (not a bot merge request).
    ``unpassed``: GitLab, asked for its auto-merge, merged at once without a
    passed head pipeline for the SHA (``bot.gate.automerge``).
    """

    action: str
    iid: int
    decision: Decision | None = None
    fetched: Fetched | None = None
    detail: str = ""
    unpassed: bool = False


class MergeGate:
    """The gate's execution, with per-merge-request single flight."""

    def __init__(
        self,
        *,
        reader: GateReader | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """One instance per server: it holds the locks and the caches."""
        self.reader = reader or GateReader()
        self._sleep = sleep
        self._locks = deploy.KeyedLocks()
        self._reported: set[tuple[int, str]] = set()
        self.deploy_locks = deploy.KeyedLocks()
        self.notes = GateNotes()

    @asynccontextmanager
    async def hold(self, iid: int) -> AsyncIterator[None]:
        """Run the block while nobody else works on ``!iid``."""
        async with self._locks.hold(("merge-request", iid)):
            yield

    async def run(
        self, context: HandlerContext, iid: int, **options: bool
    ) -> GateOutcome:
        """Decide and act on ``!iid`` under its lock."""
        async with self.hold(iid):
            return await self.run_locked(context, iid, **options)

    async def evaluate(
        self,
        context: HandlerContext,
        iid: int,
        *,
        notes: CommandNotes | None = None,
        mr: MergeRequest | None = None,
        **options: bool,
    ) -> tuple[Fetched, Decision] | None:
        """Read and decide, acting on nothing; None for a non-bot MR.

        ``mr`` is ``!iid`` as just read, if the caller has it. Without
        ``notes`` they come from ``notes.command_notes`` (one more call when the
        count of notes moved).
        """
        if notes is None:
            mr = mr or await context.gitlab.fetch_merge_request(iid)
            notes = await self.notes.command_notes(context, mr)
        fetched = await self.reader.read(
            context.config, context.gitlab, iid, notes=notes, mr=mr, **options
        )
        return None if fetched is None else (fetched, decide(fetched.state))

    async def run_locked(
        self,
        context: HandlerContext,
        iid: int,
        *,
        merge_requested: bool = False,
        freeze_overridden: bool = False,
        notes: CommandNotes | None = None,
        mr: MergeRequest | None = None,
    ) -> GateOutcome:
        """Decide and act; the caller holds ``hold(iid)``.

        ``notes`` comes from the caller's notes listing; without it they come
        from ``notes.command_notes``. ``mr`` is ``!iid`` as the caller just read
        it: the first decision uses it, later ones read again.
        """
        options = {
            "merge_requested": merge_requested,
            "freeze_overridden": freeze_overridden,
        }
        if notes is None:
            mr = mr or await context.gitlab.fetch_merge_request(iid)
            notes = await self.notes.command_notes(context, mr)
        outcome = GateOutcome("waiting", iid)
        for attempt in range(MERGE_ATTEMPTS):
            evaluated = await self._evaluate_settled(context, iid, notes, options, mr)
            mr = None
            if evaluated is None:
                return GateOutcome("skipped", iid, detail="not a bot merge request")
            fetched, decision = evaluated
            outcome = await self._act(context, fetched, decision)
            if outcome.action != "re-evaluate":
                break
            log.info("merge refused, deciding again", iid=iid, attempt=attempt)
        return outcome if outcome.action != "re-evaluate" else _gave_up(outcome)

    async def _evaluate_settled(
        self,
        context: HandlerContext,
        iid: int,
        notes: CommandNotes,
        options: dict[str, bool],
        mr: MergeRequest | None,
    ) -> tuple[Fetched, Decision] | None:
        """Decide (from ``mr`` when given); read again while GitLab is only
        checking mergeability."""
        evaluated = await self.evaluate(context, iid, notes=notes, mr=mr, **options)
        for pause in CHECKING_POLLS:
            if evaluated is None or not _only_checking(evaluated[1]):
                break
            await self._sleep(pause)
            evaluated = await self.evaluate(context, iid, notes=notes, **options)
        return evaluated

    async def _act(
        self, context: HandlerContext, fetched: Fetched, decision: Decision
    ) -> GateOutcome:
        """Carry out one decision."""
        gitlab, iid = context.gitlab, fetched.mr.iid
        _record_decision(context, fetched, decision)
        if _head_passed(fetched):
            await self._maybe_clear_failure(gitlab, fetched)
        automerge.warn_if_not_used(fetched.state)
        if isinstance(decision, Merge):
            outcome = await self._merge(gitlab, fetched, decision)
            if outcome.action == "merged" and context.metrics is not None:
                context.metrics.record_merge(fetched.record.environment)
                if outcome.unpassed:
                    context.metrics.record_unpassed_merge(fetched.record.environment)
            return outcome
        if isinstance(decision, ReportFailure):
            await self._report_failure(gitlab, fetched, decision)
            return GateOutcome("reported", iid, decision, fetched)
        if isinstance(decision, Regenerate):
            return await self._regenerate(context, fetched, decision)
        if isinstance(decision, CancelAutoMerge):
            await gitlab.cancel_auto_merge(iid)
            return GateOutcome("auto-merge-cancelled", iid, decision, fetched)
        assert isinstance(decision, Wait)
        return GateOutcome("waiting", iid, decision, fetched)

    async def _merge(
        self, gitlab: GitLab, fetched: Fetched, decision: Merge
    ) -> GateOutcome:
        """Merge naming the head SHA; believe only the state read back."""
        iid = fetched.mr.iid
        try:
            answer = await gitlab.merge(
                iid, decision.sha, auto_merge=decision.auto_merge
            )
        except (GitLabConflict, GitLabRejected) as error:
            if error.status not in (405, 406, 409, 422):
                raise
            action = merge_response_action(error.status)
            log.info("merge refused", iid=iid, status=error.status, next=action)
            return GateOutcome("re-evaluate", iid, decision, fetched, error.detail)

        if decision.auto_merge:
            return _auto_merge_outcome(answer, fetched, decision)
        after = await gitlab.fetch_merge_request(iid)
        if after.state != "merged":
            detail = f"GitLab answered the merge but !{iid} is {after.state}"
            log.warning("merge not applied", iid=iid, state=after.state)
            return GateOutcome("not-merged", iid, decision, fetched, detail)
        log.info("merged", iid=iid, sha=decision.sha)
        return GateOutcome("merged", iid, decision, fetched)

    async def _maybe_clear_failure(self, gitlab: GitLab, fetched: Fetched) -> None:
        """Remove the failure label once the head pipeline passed."""
        if FAILED_LABEL in fetched.mr.labels:
            await gitlab.update_merge_request(
                fetched.mr.iid, remove_labels=FAILED_LABEL
            )

    async def _report_failure(
        self, gitlab: GitLab, fetched: Fetched, decision: ReportFailure
    ) -> None:
        """Label (unless held), then comment once for this SHA. The label
        first: a crash in between leaves a label whose comment the next run
        still posts, as the comment is looked for by its marker, not by the
        label."""
        await _label_failure(gitlab, fetched)
        iid, sha = fetched.mr.iid, decision.sha
        if (iid, sha) in self._reported:
            return
        if await _has_failure_note(gitlab, iid, sha):
            self._reported.add((iid, sha))
            return

        jobs = decision.failed_jobs
        if not jobs:
            states = await fetch_job_states(gitlab, decision.pipeline_id)
            jobs = tuple(job.name for job in states if job.status == "failed")
        await gitlab.post_note(iid, failure_note(decision, jobs))
        self._reported.add((iid, sha))
        log.info("pipeline failure reported", iid=iid, sha=sha)

    async def _regenerate(
        self, context: HandlerContext, fetched: Fetched, decision: Regenerate
    ) -> GateOutcome:
        """Rebuild the branch; close the MR once the target holds a newer tag.

        Another refusal of the tag order means the MR proposes a newer tag
        than the record read (a deploy updated it meanwhile): nothing to do.
        A head the bot did not write is named in one comment, once the
        branch was rewritten (a deploy that was still updating the record
        rewrites nothing, and nothing is said).
        """
        iid = fetched.mr.iid
        try:
            result = await self.regenerate(context, fetched.record)
        except deploy.TargetMoved as moved:
            await _close_outdated(context.gitlab, iid, fetched.record, moved)
            return GateOutcome("closed", iid, decision, fetched, str(moved))
        except policy.OlderTag as refused:
            log.info("rebuild superseded", iid=iid, detail=str(refused))
            return GateOutcome("waiting", iid, decision, fetched, str(refused))
        if decision.reason.code == "foreign_commit" and result.commit is not None:
            await context.gitlab.post_note(iid, foreign_commit_note(fetched.mr))
        return GateOutcome("regenerated", iid, decision, fetched)

    async def regenerate(
        self, context: HandlerContext, record: DeployRecord
    ) -> deploy.DeployResult:
        """Rebuild the branch as "target head + this change" (deploy flow).

        Not forced (``DeployRequest.rebuilding``): raises ``TargetMoved``
        when the target now holds a newer tag than ``record``'s.
        """
        return await self.deploy(context, deploy.DeployRequest.rebuilding(record))

    async def deploy(
        self, context: HandlerContext, request: deploy.DeployRequest
    ) -> deploy.DeployResult:
        """Run the deploy flow under the server's per-key deploy locks."""
        # ``is not None``, never ``or``: an empty lock map is still the
        # server's shared one, and the API's deploys wait on it.
        shared = context.deploy_locks
        locks = shared if shared is not None else self.deploy_locks
        return await deploy.deploy(
            request, config=context.config, gitlab=context.gitlab, locks=locks
        )


def decision_name(decision: Decision) -> str:
    """The decision's kind as a metric label: ``merge``, ``report_failure``..."""
    name = type(decision).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def main_reason(decision: Decision) -> str:
    """The reason code that decided: Regenerate's own, else the first blocking
    one; ``ready`` for a merge nothing blocks."""
    if isinstance(decision, Regenerate):
        return decision.reason.code
    return decision.reasons[0].code if decision.reasons else "ready"


def _record_decision(
    context: HandlerContext, fetched: Fetched, decision: Decision
) -> None:
    """One log line and one count per decision: what, why, and on what."""
    name, reason = decision_name(decision), main_reason(decision)
    log.info(
        "gate_decided",
        app=fetched.record.app,
        environment=fetched.record.environment,
        iid=fetched.mr.iid,
        sha=fetched.mr.sha,
        decision=name,
        reason=reason,
        reasons=[blocking.code for blocking in decision.reasons],
    )
    if context.metrics is not None:
        context.metrics.record_gate_decision(name, reason)


def foreign_commit_note(mr: MergeRequest) -> str:
    """The comment after replacing a head someone else pushed to the branch."""
    return (
        f"A commit not written by the bot ({code_span(mr.sha or '')}) was pushed "
        f"to {code_span(mr.source_branch)}; the branch was rebuilt from "
        f"{code_span(mr.target_branch)} + this change. Propose changes in a "
        "merge request of your own."
    )


def failure_note(decision: ReportFailure, jobs: tuple[str, ...]) -> str:
    """The comment on a failed head pipeline, with its per-SHA marker."""
    listed = ", ".join(map(code_span, jobs)) or "no job named by GitLab"
    return (
        f"Pipeline #\u200b{decision.pipeline_id} failed for "
        f"{code_span(decision.sha[:8])} (failed: {listed}). The merge waits for "
        "a passing pipeline on this head; `/gitops retry` reruns the failed jobs.\n\n"
        + FAILURE_MARKER.format(sha=decision.sha)
    )


async def _label_failure(gitlab: GitLab, fetched: Fetched) -> None:
    """Add the failure label unless it is there or the hold is (see
    ``FAILED_LABEL``). A hold put on by hand between the gate's read and this
    call is still lost: GitLab has no conditional label update."""
    if FAILED_LABEL in fetched.mr.labels:
        return
    if fetched.state.held:
        log.debug("failure label deferred while held", iid=fetched.mr.iid)
        return
    await gitlab.update_merge_request(fetched.mr.iid, add_labels=FAILED_LABEL)


async def _close_outdated(
    gitlab: GitLab, iid: int, record: DeployRecord, moved: deploy.TargetMoved
) -> None:
    """Close ``!iid``: the target already holds a newer tag than it proposes."""
    await gitlab.post_note(
        iid,
        f"Closed by gitops-bot: the target branch already has a newer tag than "
        f"{code_span(record.tag or '')}, so rebuilding this merge request would "
        f"roll it back ({moved}). Deploy again with force for a rollback.",
    )
    await gitlab.close_merge_request(iid)
    log.warning("closed outdated merge request", iid=iid, tag=record.tag)


async def _has_failure_note(gitlab: GitLab, iid: int, sha: str) -> bool:
    """Whether a failure comment for ``sha`` is already on the MR."""
    marker = FAILURE_MARKER.format(sha=sha)
    notes = await gitlab.fetch_notes(iid)
    return any(marker in note.body for note in notes)


def _auto_merge_outcome(
    answer: MergeRequest, fetched: Fetched, decision: Merge
) -> GateOutcome:
    """GitLab's answer to an auto-merge request: set, or merged at once (an
    error when without a passed pipeline: it cannot be undone)."""
    iid = fetched.mr.iid
    if answer.state != "merged":
        return GateOutcome("auto-merge-set", iid, decision, fetched)
    unpassed = automerge.unpassed_merge(answer, fetched.state, decision.sha)
    if unpassed is None:
        log.info("merged", iid=iid, sha=decision.sha, by="gitlab_auto_merge")
        return GateOutcome("merged", iid, decision, fetched)
    log.error("merged_without_passed_pipeline", iid=iid, sha=decision.sha,
              detail=unpassed)  # fmt: skip
    return GateOutcome("merged", iid, decision, fetched, unpassed, unpassed=True)


def _head_passed(fetched: Fetched) -> bool:
    """Whether the head pipeline is the head's and succeeded."""
    pipeline = fetched.mr.head_pipeline
    return (
        pipeline is not None
        and pipeline.status == "success"
        and pipeline.sha == fetched.mr.sha
    )


def _only_checking(decision: Decision) -> bool:
    """Whether GitLab's check in progress is all that blocks."""
    codes = {reason.code for reason in decision.reasons}
    return isinstance(decision, Wait) and codes == {"checking"}


def _gave_up(outcome: GateOutcome) -> GateOutcome:
    """The outcome after GitLab refused every merge attempt."""
    reason = Reason("merge_refused", f"GitLab refused the merge: {outcome.detail}")
    return GateOutcome(
        "not-merged", outcome.iid, Wait((reason,)), outcome.fetched, outcome.detail
    )
