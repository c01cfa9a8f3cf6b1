"""What the notes of a merge request tell the gate, listed as rarely as safe.

A gate decision needs to know whether a comment command waits for an answer
(a lost ``hold`` must win) and who held the merge request and why. That
takes a notes listing (every page, ``bot.chatops.ledger``); ``GateNotes``
skips it while GitLab's count of the notes is the one at which they were
last reconciled (``bot.chatops.reconciled``), so an unchanged decision needs
only the merge request it reads anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.chatops.ledger import Ledger, read_ledger
from bot.chatops.reconciled import ReconciledNotes
from bot.gate.model import CommandNotes
from bot.gitlab import MergeRequest, Note

if TYPE_CHECKING:
    from bot.server.router import HandlerContext

ANSWERED_BY_EMOJI_LIMIT = 10_000


class GateNotes:
    """The notes' side of the gate's input, with what it remembers of them."""

    def __init__(self) -> None:
        """Remember nothing yet: the first decision per MR lists its notes."""
        # Notes answered before replies carried the "answered" marker: known
        # from the bot's award emoji on them (one call each, then remembered).
        self.answered_by_emoji: set[int] = set()
        # Per MR, GitLab's note count when its notes were last reconciled.
        self.reconciled = ReconciledNotes()

    async def command_notes(
        self, context: HandlerContext, mr: MergeRequest
    ) -> CommandNotes:
        """What the notes of ``mr`` tell the gate: remembered while GitLab's
        count of them is the one last reconciled, else listed (1 call per
        page)."""
        known = self.reconciled.current(mr.iid, mr.user_notes_count)
        if known is not None:
            return known
        return await self.fetch_command_notes(context, mr.iid)

    async def fetch_command_notes(
        self, context: HandlerContext, iid: int
    ) -> CommandNotes:
        """What the notes of ``!iid`` tell the gate (1 call per page)."""
        bot_id, _ = await context.gitlab.fetch_current_user()
        notes = await context.gitlab.fetch_notes(iid)
        ledger = self.read_ledger(context, notes, bot_id)
        self.note_reconciled(iid, notes, ledger)
        return ledger.for_gate()

    def read_ledger(
        self, context: HandlerContext, notes: Iterable[Note], bot_id: int
    ) -> Ledger:
        """The command notes of one listing (plus the replies posted since)."""
        return read_ledger(
            notes,
            bot_id=bot_id,
            prefix=context.config.server.command_prefix,
            also_answered=self.answered_by_emoji,
        )

    def note_reconciled(self, iid: int, notes: Iterable[Note], ledger: Ledger) -> None:
        """Remember the count of ``notes`` (a full listing of ``!iid`` plus
        the replies posted since) when no command in them waits for an
        answer; forget it otherwise."""
        if ledger.pending:
            self.reconciled.forget(iid)
        else:
            self.reconciled.remember(iid, notes, ledger.for_gate())

    def remember_answered_by_emoji(self, note_id: int) -> None:
        """Remember a note answered before replies carried the marker."""
        if len(self.answered_by_emoji) >= ANSWERED_BY_EMOJI_LIMIT:
            self.answered_by_emoji.clear()  # each costs one call to find again
        self.answered_by_emoji.add(note_id)
