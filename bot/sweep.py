"""The merge gate's triggers: webhooks, the periodic sweep, auto promotion.

Merge request, pipeline and emoji events each run the gate on the merge
request they concern; the sweep (every ``server.sweep_interval_seconds``,
jittered, by ``bot.server.sweep``) lists every open bot merge request, all
pages, and runs the gate on each, healing lost webhooks and restarts. Before
the gate runs, the comment commands of the merge request that the bot has
not answered yet (their note webhook lost, or queued when the bot stopped)
are answered in note order, through the note handler: a lost ``hold`` is
applied before the gate could merge. The merge request is read first: while
GitLab's count of its notes (``user_notes_count``) is the one at which they
were last reconciled, no note was added or deleted, and the notes are not
listed again (``bot.chatops.reconciled``): 2 calls per unchanged decision.
The gate's per-merge-request lock keeps a sweep, a webhook and a command
from acting on one merge request at once.
When a bot merge request of an environment with ``promote_to`` and
``auto_promote`` merges, the same image is deployed to the next environment.
"""

from __future__ import annotations

import structlog

from bot import deploy
from bot.chatops.events import BOT_LABEL
from bot.chatops.handlers import CommandHandler
from bot.chatops.handlers import router as commands_router
from bot.errors import GitopsBotError, InvalidInput, Refused
from bot.gate.execute import GateOutcome, MergeGate
from bot.gate.fetch import FINISHED
from bot.gate.model import HOLD_LABEL, CommandNotes
from bot.gitlab import MergeRequest
from bot.record import (
    DeployRecord,
    code_span,
    inline_text,
    note_text,
    parse_marker,
)
from bot.server.events import EmojiEvent, MergeRequestEvent, PipelineEvent
from bot.server.router import HandlerContext, Router

log = structlog.get_logger(__name__)

GATE_ACTIONS = frozenset({
    "open", "reopen", "update", "approved", "approval", "unapproved",
    "unapproval", "",
})  # fmt: skip


class GateTriggers:
    """Event handlers and the sweep, all acting through one ``MergeGate``."""

    def __init__(self, gate: MergeGate, commands: CommandHandler) -> None:
        """Share ``gate`` (its locks and caches) with the comment commands;
        ``commands`` answers the notes whose webhook never came."""
        self.gate = gate
        self.commands = commands

    async def on_merge_request(
        self, event: MergeRequestEvent, context: HandlerContext
    ) -> None:
        """Run the gate on an open bot MR; promote one that merged."""
        bot_id, _ = await context.gitlab.fetch_current_user()
        if event.author_id != bot_id:
            return
        if event.action == "merge" and event.actor_id != bot_id:
            await self.maybe_promote_merged(context, event.iid)
        elif event.state == "opened" and event.action in GATE_ACTIONS:
            await self.run_gate(context, event.iid)

    async def on_pipeline(self, event: PipelineEvent, context: HandlerContext) -> None:
        """A merge request pipeline finished: run the gate on its MR."""
        if event.merge_request_iid is None or event.status not in FINISHED:
            return
        await self.run_gate(context, event.merge_request_iid)

    async def on_emoji(self, event: EmojiEvent, context: HandlerContext) -> None:
        """Thumbs on a merge request may be how a team approves: re-check."""
        if event.awardable_type == "MergeRequest" and event.merge_request_iid:
            await self.run_gate(context, event.merge_request_iid)

    async def sweep(self, context: HandlerContext) -> None:
        """Run the gate on every open bot merge request (every page)."""
        target = context.config.gitlab.target_branch
        found = await context.gitlab.fetch_open_merge_requests(
            target, labels=(BOT_LABEL,)
        )
        log.info("sweep", open_merge_requests=len(found))
        for mr in found:
            try:
                await self.run_gate(context, mr.iid)
            except Exception:  # one merge request never stops the sweep
                log.exception("sweep gate failed", iid=mr.iid)

    async def run_gate(self, context: HandlerContext, iid: int) -> GateOutcome:
        """Answer the unanswered commands, run the gate; promote what merged.

        The notes are listed only when their count moved since they were last
        reconciled; the gate decides from the merge request read here unless
        a command was answered in between (then it reads it again).
        """
        async with self.gate.hold(iid):
            mr = await context.gitlab.fetch_merge_request(iid)
            notes = self.gate.notes.reconciled.current(iid, mr.user_notes_count)
            if notes is None:
                reconciliation = await self.commands.answer_pending(context, iid, mr)
                notes = reconciliation.notes
                mr = None if reconciliation.answered else mr
            if mr is not None and await self._maybe_restore_hold(context, mr, notes):
                mr = None
            outcome = await self.gate.run_locked(context, iid, notes=notes, mr=mr)
        if outcome.action == "merged" and outcome.fetched is not None:
            await self.maybe_promote(context, outcome.fetched.record, iid)
        return outcome

    async def _maybe_restore_hold(
        self, context: HandlerContext, mr: MergeRequest, notes: CommandNotes
    ) -> bool:
        """Put the hold label back on an open ``mr`` whose notes hold it (it
        was taken off by hand: only ``unhold`` lifts a hold) and say so; True
        when it did. Once back, the label stops this, so it is said once."""
        if not notes.held or HOLD_LABEL in mr.labels or mr.state != "opened":
            return False
        await context.gitlab.update_merge_request(mr.iid, add_labels=HOLD_LABEL)
        who = f" by {code_span(notes.held_by)}" if notes.held_by else ""
        await context.gitlab.post_note(
            mr.iid,
            f"The {code_span(HOLD_LABEL)} label was removed, but the hold{who} "
            "is still in force: the label is back. `unhold` lifts it.",
        )
        log.info("hold label restored", iid=mr.iid)
        return True

    async def maybe_promote_merged(self, context: HandlerContext, iid: int) -> None:
        """Promote a bot MR merged by someone else (or by GitLab's auto-merge)."""
        mr = await context.gitlab.fetch_merge_request(iid)
        record = parse_marker(mr.description)
        if mr.state == "merged" and record is not None:
            await self.maybe_promote(context, record, iid)

    async def maybe_promote(
        self, context: HandlerContext, record: DeployRecord, iid: int
    ) -> None:
        """Deploy the image ``!iid`` merged to ``promote_to`` when
        ``auto_promote``; a refusal (older tag, pin, policy) is said on ``!iid``."""
        environments = context.config.environments
        environment = environments.get(record.environment)
        if environment is None or not environment.auto_promote:
            return
        target = environment.promote_to
        if target is None or target not in context.config.app(record.app).environments:
            return
        request = deploy.DeployRequest.from_record(record, environment=target)
        try:
            result = await self.gate.deploy(context, request)
        except (Refused, InvalidInput) as error:
            await _report_refused_promotion(context, iid, target, error)
            return
        log.info("auto promoted", app=record.app, to=target, status=result.status)


async def _report_refused_promotion(
    context: HandlerContext, iid: int, target: str, error: GitopsBotError
) -> None:
    """Say on the merged ``!iid`` why its promotion to ``target`` was refused,
    once: a redelivered merge event finds the bot's note and posts nothing."""
    log.warning("auto promotion refused", iid=iid, to=target, error=str(error))
    body = f"Promotion to {inline_text(target)} refused: {note_text(error)}"
    bot_id, _ = await context.gitlab.fetch_current_user()
    notes = await context.gitlab.fetch_notes(iid)
    if not any(note.author_id == bot_id and note.body == body for note in notes):
        await context.gitlab.post_note(iid, body)


def routers(gate: MergeGate | None = None) -> list[Router]:
    """The merge gate's and the comment commands' routers, sharing one gate."""
    gate = gate or MergeGate()
    commands = CommandHandler(gate)
    triggers = GateTriggers(gate, commands)
    gate_router = Router()
    gate_router.register(MergeRequestEvent, triggers.on_merge_request)
    gate_router.register(PipelineEvent, triggers.on_pipeline)
    gate_router.register(EmojiEvent, triggers.on_emoji)
    gate_router.add_sweep(triggers.sweep)
    return [gate_router, commands_router(commands)]
