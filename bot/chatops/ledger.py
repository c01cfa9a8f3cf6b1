"""Which comment commands the bot has answered, read from one notes listing.

Every reply of the bot ends with a hidden marker naming the note it answers,
``<!-- gitops-bot:answered 33 -->``, followed by ``held`` or ``unheld`` when
a ``hold`` or an ``unhold`` of that note took effect. So one
``GET .../notes`` (every page) tells which command notes still wait for an
answer, whatever happened to their webhooks, and who held the merge request
and why. The award emoji the bot also gives stays, but reading it costs a
call per note.

The marker counts only on the bot's own notes and only as their last line:
a human's text quoted in a reply is never last, so it cannot forge one. A
note is answered by id: an answered note that is edited later never runs
again, and an unanswered one runs with its text as it is now.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from bot.chatops.grammar import Commands, Ignore, Reply, parse_note
from bot.gate.model import CommandNotes
from bot.gitlab import Note

HoldChange = Literal["held", "unheld"]
# Commands that change nothing: a note holding only these never blocks a merge.
READ_ONLY = frozenset({"help", "status"})
_MARKER_RE = re.compile(
    r"\n?<!-- gitops-bot:answered ((?:\d+ )*\d+)(?: (held|unheld))? -->\s*\Z"
)


@dataclass(frozen=True)
class CommandNote:
    """A human note on the merge request that needs an answer from the bot."""

    id: int
    author_id: int | None
    author: str
    body: str
    parsed: Commands | Reply

    @property
    def changes_something(self) -> bool:
        """Whether running it may do more than answer (``help``, ``status``)."""
        if not isinstance(self.parsed, Commands):
            return False
        return any(command.name not in READ_ONLY for command in self.parsed.commands)


@dataclass(frozen=True)
class Ledger:
    """The command notes of one merge request: unanswered ones, in note order,
    and the note whose ``hold`` is in force (None when unknown or lifted)."""

    pending: tuple[CommandNote, ...]
    hold: CommandNote | None = None

    def for_gate(self, running: int | None = None) -> CommandNotes:
        """What the gate needs; ``running`` is the note being answered now."""
        blocking = tuple(
            note.id
            for note in self.pending
            if note.id != running and note.changes_something
        )
        if self.hold is None:
            return CommandNotes(blocking)
        return CommandNotes(blocking, self.hold.author, hold_reason(self.hold))


def answered_marker(note_id: int, change: HoldChange | None = None) -> str:
    """The hidden last line of the bot's reply to note ``note_id``."""
    suffix = f" {change}" if change else ""
    return f"<!-- gitops-bot:answered {note_id}{suffix} -->"


def read_marker(body: str) -> tuple[tuple[int, ...], HoldChange | None] | None:
    """The note ids a bot note answered and its hold change, or None."""
    found = _MARKER_RE.search(body)
    if found is None:
        return None
    ids = tuple(int(part) for part in found.group(1).split())
    return ids, found.group(2)  # type: ignore[return-value]


def read_ledger(
    notes: Iterable[Note],
    *,
    bot_id: int,
    prefix: str,
    also_answered: Collection[int] = (),
) -> Ledger:
    """Read the command notes of one merge request from its notes listing.

    Only human notes count (not system notes, not the bot's); note ids order
    them as GitLab created them. ``also_answered`` names notes known to be
    answered otherwise (the bot's award emoji on a note answered before
    replies carried the marker).
    """
    answered: set[int] = set(also_answered)
    commands: dict[int, CommandNote] = {}
    last_change: tuple[int, HoldChange] | None = None
    for note in sorted(notes, key=lambda note: note.id):
        if note.system:
            continue
        if note.author_id == bot_id:
            marker = read_marker(note.body)
            if marker is not None:
                answered.update(marker[0])
                last_change = (marker[0][-1], marker[1]) if marker[1] else last_change
            continue
        command_note = _command_note(note, prefix)
        if command_note is not None:
            commands[command_note.id] = command_note

    pending = tuple(note for key, note in commands.items() if key not in answered)
    held = last_change is not None and last_change[1] == "held"
    return Ledger(pending, commands.get(last_change[0]) if held else None)


def hold_reason(note: CommandNote) -> str | None:
    """The reason given to the last ``hold`` of a note, or None."""
    if not isinstance(note.parsed, Commands):
        return None
    holds = [command for command in note.parsed.commands if command.name == "hold"]
    if not holds:
        return None
    return " ".join(holds[-1].args) or None


def _command_note(note: Note, prefix: str) -> CommandNote | None:
    """The note as a command note, or None when it asks nothing of the bot."""
    parsed = parse_note(note.body, prefix)
    if isinstance(parsed, Ignore):
        return None
    return CommandNote(note.id, note.author_id, note.author_username, note.body, parsed)
