"""Running comment commands: each command note gets one reply and one award.

A note webhook, the periodic sweep and every merge request, pipeline or
approval event lead to ``CommandHandler.answer_pending``, which answers, in
note order, every command note of the merge request that the bot has not
answered yet, so a note whose webhook was lost (dropped delivery, restart,
413) is still answered before the gate runs. For each note:

1. cheap checks on a note event (no GitLab call): a merge request note,
   just created (an edited note never re-runs), not a system note, holding
   a command, not the bot's own;
2. one notes listing (every page): the bot's replies end with a hidden
   marker naming the note they answer (``bot.chatops.ledger``), so a
   redelivered, replayed or already healed note runs once; the gate's
   triggers skip it while GitLab's count of notes is the one reconciled
   last (``bot.chatops.reconciled``), and any human note event on the merge
   request makes the next one list again;
3. the merge request is the bot's (author, record or label); a note the bot
   awarded its emoji before replies carried the marker counts as answered;
4. each command checked against the commenter's access level in the GitOps
   project (``members/all``: inherited membership counts), then run; on a
   merged or closed merge request only ``help``, ``status``, ``promote``
   and ``unpin`` run (promoting after staging merged is the usual flow, and
   a merged pin stays on the target branch until a new merge request lifts
   it);
5. one reply quoting each command with its result or refusal, ending with
   the marker, then the award emoji.

Arguments are plain strings passed to GitLab's API; nothing reaches a shell.
Everything runs under the merge request's single-flight lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import structlog

from bot import policy
from bot.chatops import commands as run
from bot.chatops.access import MERGE_DURING_FREEZE, Refusal, check_permission
from bot.chatops.events import merge_request_skip_reason, note_skip_reason
from bot.chatops.grammar import (
    Command,
    Commands,
    Ignore,
    format_refusal,
    format_reply,
    parse_note,
)
from bot.chatops.ledger import (
    READ_ONLY,
    CommandNote,
    HoldChange,
    Ledger,
    answered_marker,
)
from bot.errors import GitopsBotError
from bot.gate.execute import MergeGate
from bot.gate.model import CommandNotes
from bot.gate.report import FINAL_STATES
from bot.gitlab import MergeRequest, Note
from bot.record import DeployRecord, inline_text, note_text, parse_marker
from bot.server.events import NoteEvent
from bot.server.router import HandlerContext, Router

log = structlog.get_logger(__name__)

DONE_EMOJI = "white_check_mark"
REFUSED_EMOJI = "no_entry_sign"
NOTHING_RUN = "Nothing in this note was run."
# On a merged or closed merge request (``FINAL_STATES``) only these do anything.
ANSWERED_WHEN_FINAL = frozenset({"help", "status", "promote", "unpin"})
HOLD_CHANGES: dict[str, HoldChange] = {"hold": "held", "unhold": "unheld"}


@dataclass(frozen=True)
class Invocation:
    """One command to run, with who asked and where.

    ``notes`` is what the notes say to the gate while this command runs (the
    other unanswered commands, who held the merge request and why).
    """

    command: Command
    actor: str
    actor_level: int
    mr: MergeRequest
    context: HandlerContext
    gate: MergeGate
    notes: CommandNotes = field(default_factory=CommandNotes)


@dataclass(frozen=True)
class Answer:
    """The reply to one note, whether anything in it was refused, the hold
    change it made, the merge request as it is afterwards, and the tag a
    ``merge`` in it was remembered for."""

    text: str
    refused: bool
    hold_change: HoldChange | None
    mr: MergeRequest
    merge_for: str | None = None


@dataclass(frozen=True)
class Reconciliation:
    """What answering the pending commands of a merge request left: what its
    notes tell the gate, and how many notes were answered just now."""

    notes: CommandNotes
    answered: int = 0


CommandRunner = Callable[[Invocation], Awaitable[str]]


class CommandHandler:
    """The note handler; shares the merge gate's per-MR lock."""

    def __init__(self, gate: MergeGate) -> None:
        """Act through ``gate`` (single flight, deploy locks, caches)."""
        self.gate = gate

    async def on_note(self, event: NoteEvent, context: HandlerContext) -> None:
        """Handle one note webhook: answer every unanswered command note of
        its merge request, this one included. Any human note event makes the
        next gate decision list the notes (an edit may have added a command)."""
        await self._maybe_forget_reconciled(event, context)
        prefix = context.config.server.command_prefix
        early = note_skip_reason(event)
        parsed = parse_note(event.body, prefix) if early is None else Ignore()
        if isinstance(parsed, Ignore):
            log.debug("note ignored", note=event.note_id, reason=early or "no command")
            return

        bot_id, _ = await context.gitlab.fetch_current_user()
        skip = note_skip_reason(event, bot_id)
        if skip is not None:
            log.debug("note ignored", note=event.note_id, reason=skip)
            return
        assert event.merge_request_iid is not None  # note_skip_reason checked it
        async with self.gate.hold(event.merge_request_iid):
            await self.answer_pending(context, event.merge_request_iid)

    async def _maybe_forget_reconciled(
        self, event: NoteEvent, context: HandlerContext
    ) -> None:
        """Drop the reconciled note count of the event's merge request when a
        human wrote or edited a note there (no call: the user is cached)."""
        iid = event.merge_request_iid
        if event.noteable_type != "MergeRequest" or iid is None or event.system:
            return
        bot_id, _ = await context.gitlab.fetch_current_user()
        if event.author_id != bot_id:
            self.gate.notes.reconciled.forget(iid)

    async def answer_pending(
        self, context: HandlerContext, iid: int, mr: MergeRequest | None = None
    ) -> Reconciliation:
        """Answer, in note order, each command note of ``!iid`` not answered
        yet; return what the notes then tell the gate. The caller holds
        ``gate.hold(iid)`` and may pass ``mr``, ``!iid`` as just read. Costs
        one notes listing when nothing is pending; remembers GitLab's count
        of notes once every command is answered (``gate.notes``).

        A failure to answer a note propagates and leaves it and the later
        ones for the next run: they stay in order, and the gate never merges
        past them.
        """
        gitlab = context.gitlab
        bot_id, _ = await gitlab.fetch_current_user()
        notes = list(await gitlab.fetch_notes(iid))
        ledger = self.gate.notes.read_ledger(context, notes, bot_id)
        answered = 0
        if ledger.pending:
            mr = mr or await gitlab.fetch_merge_request(iid)
            ledger, answered = await self._answer_each(
                context, notes, ledger, mr, bot_id
            )

        self.gate.notes.note_reconciled(iid, notes, ledger)
        return Reconciliation(ledger.for_gate(), answered)

    async def _answer_each(
        self,
        context: HandlerContext,
        notes: list[Note],
        ledger: Ledger,
        mr: MergeRequest,
        bot_id: int,
    ) -> tuple[Ledger, int]:
        """Answer the pending notes in order, appending each reply to
        ``notes``; the ledger afterwards and how many notes were answered."""
        skip = merge_request_skip_reason(mr, bot_id)
        if skip is not None:
            log.info("notes ignored", iid=mr.iid, reason=skip)
            return ledger, 0

        answered = 0
        for note in ledger.pending:
            answer = await self._answer(context, note, mr, ledger, bot_id)
            if answer is not None:
                reply, mr = answer
                notes.append(reply)
                answered += 1
            ledger = self.gate.notes.read_ledger(context, notes, bot_id)
        return ledger, answered

    async def _answer(
        self,
        context: HandlerContext,
        note: CommandNote,
        mr: MergeRequest,
        ledger: Ledger,
        bot_id: int,
    ) -> tuple[Note, MergeRequest] | None:
        """Run one note, reply, award; None when it was answered already."""
        gitlab = context.gitlab
        awards = await gitlab.fetch_note_awards(mr.iid, note.id)
        if any(award.user_id == bot_id for award in awards):
            # Answered before replies carried the marker (an older version).
            self.gate.notes.remember_answered_by_emoji(note.id)
            log.info("note already handled", note=note.id, iid=mr.iid)
            return None

        answer = await self._run_note(context, note, mr, ledger)
        marker = answered_marker(note.id, answer.hold_change, answer.merge_for)
        body = f"{answer.text}\n\n{marker}"
        reply = await gitlab.post_note(mr.iid, body)
        emoji = REFUSED_EMOJI if answer.refused else DONE_EMOJI
        await gitlab.award_emoji(mr.iid, emoji, note_id=note.id)
        log.info("note answered", note=note.id, iid=mr.iid, refused=answer.refused)
        return reply, answer.mr

    async def _run_note(
        self,
        context: HandlerContext,
        note: CommandNote,
        mr: MergeRequest,
        ledger: Ledger,
    ) -> Answer:
        """The answer to one note: run its commands, or its ready reply."""
        if not isinstance(note.parsed, Commands):
            text = note.parsed.text
            if text.endswith(NOTHING_RUN):
                return Answer(text, True, None, mr)
            return await self._answer_help(context, note, mr, text)

        level = await context.gitlab.fetch_member_access(note.author_id or 0)
        commands = note.parsed.commands
        invocations = [
            Invocation(
                command,
                note.author,
                level,
                mr,
                context,
                self.gate,
                ledger.for_gate(running=_running(note.id, commands[index + 1 :])),
            )
            for index, command in enumerate(commands)
        ]
        return await self._run_all(invocations)

    async def _answer_help(
        self, context: HandlerContext, note: CommandNote, mr: MergeRequest, text: str
    ) -> Answer:
        """A help-only note: its ready help text, once the commenter may run
        ``help`` (reporter by default, README), else the refusal."""
        level = await context.gitlab.fetch_member_access(note.author_id or 0)
        help_command = Command(
            "help", (), f"{context.config.server.command_prefix} help"
        )
        invocation = Invocation(
            help_command, note.author, level, mr, context, self.gate
        )
        refusal = permission_refusal(invocation)
        if refusal is None:
            return Answer(text, False, None, mr)
        log.info("command refused", command="help", actor=note.author)
        return Answer(format_refusal(help_command, refusal), True, None, mr)

    async def _run_all(self, invocations: list[Invocation]) -> Answer:
        """Run each command in order, each on the merge request as the one
        before left it and seeing a hold change an earlier line made."""
        replies: list[str] = []
        refused, change, merge_for = False, None, None
        mr = invocations[0].mr
        for index, invocation in enumerate(invocations):
            invocation = replace(invocations[index], mr=mr)
            reply, ok, text = await self._run_one(invocation)
            replies.append(reply)
            refused = refused or not ok
            name = invocation.command.name
            if ok and name in HOLD_CHANGES:
                change = HOLD_CHANGES[name]
                invocations = _with_hold(invocations, index)
            if isinstance(text, run.Remembered):
                merge_for = text.merge_for
            if ok and name not in READ_ONLY:
                mr = await invocation.context.gitlab.fetch_merge_request(mr.iid)
        return Answer("\n\n---\n\n".join(replies), refused, change, mr, merge_for)

    async def _run_one(self, invocation: Invocation) -> tuple[str, bool, str]:
        """Check state and permission, run; a refusal or failure is the reply.
        Returns the reply, whether it ran, and the runner's own answer."""
        command, mr = invocation.command, invocation.mr
        if mr.state in FINAL_STATES and command.name not in ANSWERED_WHEN_FINAL:
            log.info("command on a finished MR", command=command.name, state=mr.state)
            text = f"!{mr.iid} is {mr.state}; nothing to {command.name}."
            return format_reply(command, f"Not done: {text}"), False, ""
        refusal = permission_refusal(invocation)
        if refusal is not None:
            log.info("command refused", command=command.name, actor=invocation.actor)
            return format_refusal(command, refusal), False, ""
        try:
            text = await run.RUNNERS[command.name](invocation)
        except GitopsBotError as error:
            log.info("command failed", command=command.name, error=str(error))
            return format_reply(command, f"Not done: {note_text(error)}"), False, ""
        log.info("command run", command=command.name, actor=invocation.actor)
        return format_reply(command, text), True, text


def _with_hold(invocations: list[Invocation], index: int) -> list[Invocation]:
    """The invocations, the lines after ``index`` seeing the hold change that
    line made (who held and why), as the next notes listing will."""
    done = invocations[index]
    held = done.command.name == "hold"
    later = [
        replace(
            item,
            notes=replace(
                item.notes,
                held=held,
                held_by=done.actor if held else None,
                hold_reason=(" ".join(done.command.args) or None) if held else None,
            ),
        )
        for item in invocations[index + 1 :]
    ]
    return [*invocations[: index + 1], *later]


def _running(note_id: int, later: tuple[Command, ...]) -> int | None:
    """The note a command runs for, as ``Ledger.for_gate`` counts it: None
    while a later line of the same note may still change something, so the
    gate a command runs (``unhold``, ``merge``) waits for that line."""
    if any(command.name not in READ_ONLY for command in later):
        return None
    return note_id


def permission_refusal(invocation: Invocation) -> Refusal | None:
    """The refusal for a command the commenter may not run, else None.

    The levels are the merge request's environment's; ``promote`` also needs
    the target environment's level, and ``merge`` during a freeze the
    environment's override level. Without a readable record naming a
    configured environment, every command needs Owner.
    """
    config = invocation.context.config
    record = parse_marker(invocation.mr.description)
    command, actor, level = invocation.command, invocation.actor, invocation.actor_level
    if record is None or record.environment not in config.environments:
        return _refusal_without_record(invocation, record)

    environments = [config.environment(record.environment)]
    if command.name == "promote" and command.args[0] in config.environments:
        environments.append(config.environment(command.args[0]))
    for environment in environments:
        refusal = check_permission(
            command.name, level, environment.commands,
            actor=actor, environment=environment.name,
        )  # fmt: skip
        if refusal is not None:
            return refusal

    environment = environments[0]
    if command.name == "merge" and policy.is_frozen(environment, datetime.now(UTC)):
        required = {MERGE_DURING_FREEZE: int(environment.override_access_level)}
        return check_permission(
            MERGE_DURING_FREEZE, level, required,
            actor=actor, environment=environment.name,
        )  # fmt: skip
    return None


def _refusal_without_record(
    invocation: Invocation, record: DeployRecord | None
) -> Refusal | None:
    """Without a usable deploy record the environment's levels are unknown:
    only an Owner may act (fail closed); the refusal says what is missing."""
    mr = invocation.mr
    missing = (
        run.no_record(mr)
        if record is None
        else f"the environment {inline_text(record.environment)} of !{mr.iid} "
        "is no longer configured"
    )
    refusal = check_permission(
        invocation.command.name, invocation.actor_level, {},
        actor=invocation.actor, environment="a merge request without a record",
    )  # fmt: skip
    if refusal is None:
        return None
    return replace(refusal, message=f"{missing}; {refusal.message}")


def router(handler: CommandHandler) -> Router:
    """The comment commands' router."""
    commands_router = Router()
    commands_router.register(NoteEvent, handler.on_note)
    return commands_router
