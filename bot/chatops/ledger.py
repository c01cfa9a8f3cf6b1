"""Which comment commands the bot has answered, read from one notes listing.

Every reply of the bot ends with a hidden marker naming the note it answers,
``<!-- gitops-bot:answered 33 -->``, followed by ``held`` or ``unheld`` when
a ``hold`` or an ``unhold`` of that note took effect, then by
``merge <tag>`` when a ``merge`` the gate could not carry out at once was
remembered for that tag (or digest). So one ``GET .../notes`` (every page)
tells which command notes still wait for an answer, whatever happened to
their webhooks, whether the merge request is held, by whom and why, and
whether an authorised ``merge`` waits. These markers, not the labels, are the
truth: a label a human adds or removes by hand grants nothing (a hold label
added by hand still holds, see ``GateInput.held``). The award emoji the
bot also gives stays, but reading it costs a call per note.

The marker counts only on the bot's own notes and only as their last line:
a human's text quoted in a reply is never last, so it cannot forge one. A
note is answered by id: an answered note that is edited later never runs
again, and an unanswered one runs with its text as it is now.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from bot.chatops.grammar import Commands, Ignore, Reply, parse_note
from bot.gate.model import CommandNotes
from bot.gitlab import Note
from bot.record import DeployRecord

HoldChange = Literal["held", "unheld"]
# Commands that change nothing: a note holding only these never blocks a merge.
READ_ONLY = frozenset({"help", "status"})
_KEY = r"[\w.:@+-]{1,200}"
_KEY_RE = re.compile(_KEY)
_MARKER_RE = re.compile(
    r"\n?<!-- gitops-bot:answered ((?:\d+ )*\d+)(?: (held|unheld))?"
    rf"(?: merge ({_KEY}))? -->\s*\Z"
)


class Marker(NamedTuple):
    """What one reply's marker says: the notes it answered, the hold change
    it made, and the tag (or digest) a remembered ``merge`` is for."""

    ids: tuple[int, ...]
    change: HoldChange | None = None
    merge_for: str | None = None


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
    whether a ``hold`` is in force and the note that gave it (None when that
    note is gone), and the tag (or digest) of the last remembered ``merge``."""

    pending: tuple[CommandNote, ...]
    hold: CommandNote | None = None
    held: bool = False
    merge_for: str | None = None

    def for_gate(self, running: int | None = None) -> CommandNotes:
        """What the gate needs; ``running`` is the note being answered now."""
        blocking = tuple(
            note.id
            for note in self.pending
            if note.id != running and note.changes_something
        )
        hold = self.hold if self.held else None
        return CommandNotes(
            blocking,
            held_by=None if hold is None else hold.author,
            hold_reason=None if hold is None else hold_reason(hold),
            held=self.held,
            merge_requested_for=self.merge_for,
        )


def answered_marker(
    note_id: int, change: HoldChange | None = None, merge_for: str | None = None
) -> str:
    """The hidden last line of the bot's reply to note ``note_id``; a
    ``merge_for`` the marker cannot carry is left out (nothing remembered)."""
    suffix = f" {change}" if change else ""
    if merge_for is not None and _KEY_RE.fullmatch(merge_for):
        suffix += f" merge {merge_for}"
    return f"<!-- gitops-bot:answered {note_id}{suffix} -->"


def read_marker(body: str) -> Marker | None:
    """What the marker ending a bot note says, or None without one."""
    found = _MARKER_RE.search(body)
    if found is None:
        return None
    ids = tuple(int(part) for part in found.group(1).split())
    return Marker(ids, found.group(2), found.group(3))  # type: ignore[arg-type]


def merge_key(record: DeployRecord) -> str | None:
    """What a remembered ``merge`` is for: the record's tag, else its digest.
    A new tag or digest in the merge request makes the request stale."""
    return record.tag or record.digest


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
    merge_for: str | None = None
    for note in sorted(notes, key=lambda note: note.id):
        if note.system:
            continue
        if note.author_id == bot_id:
            marker = read_marker(note.body)
            if marker is not None:
                answered.update(marker.ids)
                if marker.change:
                    last_change = (marker.ids[-1], marker.change)
                merge_for = marker.merge_for or merge_for
            continue
        command_note = _command_note(note, prefix)
        if command_note is not None:
            commands[command_note.id] = command_note

    pending = tuple(note for key, note in commands.items() if key not in answered)
    held = last_change is not None and last_change[1] == "held"
    hold = commands.get(last_change[0]) if last_change and held else None
    return Ledger(pending, hold, held, merge_for)


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
