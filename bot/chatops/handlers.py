"""Running comment commands: one note in, one reply and one award emoji out.

For each note event, in order, stopping at the first "no":

1. cheap checks on the event itself (no GitLab call): a merge request
   note, just created (an edited note never re-runs), not a system note,
   holding a command;
2. not the bot's own note; the merge request is the bot's (author, record);
3. not done already: the bot's award emoji on the note is the durable
   "done" mark, so a redelivered or replayed note runs once;
4. each command checked against the commenter's access level in the GitOps
   project (``members/all``: inherited membership counts), then run;
5. one reply quoting each command with its result or refusal, then the
   award emoji.

Arguments are plain strings passed to GitLab's API; nothing reaches a shell.
Everything runs under the merge request's single-flight lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from bot import policy
from bot.chatops import commands as run
from bot.chatops.access import MERGE_DURING_FREEZE, check_permission
from bot.chatops.events import NoteEvent as NoteFacts
from bot.chatops.events import note_skip_reason
from bot.chatops.grammar import (
    Command,
    Commands,
    Ignore,
    format_refusal,
    format_reply,
    parse_note,
)
from bot.errors import GitopsBotError
from bot.gate.execute import MergeGate
from bot.gitlab import MergeRequest
from bot.record import has_marker, parse_marker
from bot.server.events import NoteEvent
from bot.server.router import HandlerContext, Router

log = structlog.get_logger(__name__)

DONE_EMOJI = "white_check_mark"
REFUSED_EMOJI = "no_entry_sign"
NOTHING_RUN = "Nothing in this note was run."


@dataclass(frozen=True)
class Invocation:
    """One command to run, with who asked and where."""

    command: Command
    actor: str
    actor_level: int
    mr: MergeRequest
    context: HandlerContext
    gate: MergeGate


CommandRunner = Callable[[Invocation], Awaitable[str]]


class CommandHandler:
    """The note handler; shares the merge gate's per-MR lock."""

    def __init__(self, gate: MergeGate) -> None:
        """Act through ``gate`` (single flight, deploy locks, caches)."""
        self.gate = gate

    async def on_note(self, event: NoteEvent, context: HandlerContext) -> None:
        """Handle one note webhook."""
        prefix = context.config.server.command_prefix
        early = _early_skip(event)
        parsed = parse_note(event.body, prefix) if early is None else Ignore()
        if isinstance(parsed, Ignore):
            log.debug("note ignored", note=event.note_id, reason=early or "no command")
            return

        bot_id, _ = await context.gitlab.fetch_current_user()
        if event.author_id == bot_id:
            log.debug("note ignored", note=event.note_id, reason="the bot's own note")
            return
        assert event.merge_request_iid is not None  # _early_skip checked it
        async with self.gate.hold(event.merge_request_iid):
            await self._handle_locked(event, context, bot_id, parsed)

    async def _handle_locked(
        self,
        event: NoteEvent,
        context: HandlerContext,
        bot_id: int,
        parsed: Commands | object,
    ) -> None:
        """Check ownership and the done mark, run, reply, mark done."""
        gitlab = context.gitlab
        iid = event.merge_request_iid
        assert iid is not None
        mr = await gitlab.fetch_merge_request(iid)
        skip = note_skip_reason(_facts(event, mr, bot_id))
        if skip is not None:
            log.info("note ignored", note=event.note_id, iid=iid, reason=skip)
            return
        awards = await gitlab.fetch_note_awards(iid, event.note_id)
        if any(award.user_id == bot_id for award in awards):
            log.info("note already handled", note=event.note_id, iid=iid)
            return

        if isinstance(parsed, Commands):
            level = await gitlab.fetch_member_access(event.author_id)
            replies, refused = await self._run_all(parsed, event, level, mr, context)
            text = "\n\n---\n\n".join(replies)
        else:
            text = parsed.text  # type: ignore[attr-defined]
            refused = text.endswith(NOTHING_RUN)
        await gitlab.post_note(iid, text)
        await gitlab.award_emoji(
            iid, REFUSED_EMOJI if refused else DONE_EMOJI, note_id=event.note_id
        )

    async def _run_all(
        self,
        parsed: Commands,
        event: NoteEvent,
        level: int,
        mr: MergeRequest,
        context: HandlerContext,
    ) -> tuple[list[str], bool]:
        """Run each command in order; return the replies and whether any failed."""
        replies, refused = [], False
        for command in parsed.commands:
            invocation = Invocation(
                command, event.author_username, level, mr, context, self.gate
            )
            reply, ok = await self._run_one(invocation)
            replies.append(reply)
            refused = refused or not ok
            if command.name in ("pin", "unpin", "recreate", "merge", "close"):
                mr = await context.gitlab.fetch_merge_request(mr.iid)
        return replies, refused

    async def _run_one(self, invocation: Invocation) -> tuple[str, bool]:
        """Check permission, run; a refusal or failure becomes the reply."""
        command = invocation.command
        refusal = permission_refusal(invocation)
        if refusal is not None:
            log.info("command refused", command=command.name, actor=invocation.actor)
            return format_refusal(command, refusal), False
        try:
            text = await run.RUNNERS[command.name](invocation)
        except GitopsBotError as error:
            log.info("command failed", command=command.name, error=str(error))
            return format_reply(command, f"Not done: {error}"), False
        log.info("command run", command=command.name, actor=invocation.actor)
        return format_reply(command, text), True


def permission_refusal(invocation: Invocation) -> object | None:
    """The refusal for a command the commenter may not run, else None.

    The levels are the merge request's environment's; ``promote`` also needs
    the target environment's level, and ``merge`` during a freeze the
    environment's override level.
    """
    config = invocation.context.config
    record = parse_marker(invocation.mr.description)
    if record is None or record.environment not in config.environments:
        return None  # note_skip_reason already refused such merge requests
    command, actor, level = invocation.command, invocation.actor, invocation.actor_level

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


def _early_skip(event: NoteEvent) -> str | None:
    """Why a note needs no GitLab call at all, or None."""
    if event.noteable_type != "MergeRequest" or event.merge_request_iid is None:
        return f"note on {event.noteable_type or 'an unknown object'}"
    if event.action != "create":
        return f"note {event.action}: commands run only when a note is created"
    if event.system:
        return "system note"
    return None


def _facts(event: NoteEvent, mr: MergeRequest, bot_id: int) -> NoteFacts:
    """The chatops filter's view of the note and its merge request."""
    return NoteFacts(
        noteable_type=event.noteable_type,
        action=event.action,
        is_system=event.system,
        author_id=event.author_id,
        author_username=event.author_username,
        bot_user_id=bot_id,
        body=event.body,
        note_id=event.note_id,
        mr_iid=mr.iid,
        mr_author_id=mr.author_id,
        mr_labels=mr.labels,
        mr_has_marker=has_marker(mr.description),
    )


def router(gate: MergeGate) -> Router:
    """The comment commands' router."""
    handler = CommandHandler(gate)
    commands_router = Router()
    commands_router.register(NoteEvent, handler.on_note)
    return commands_router
