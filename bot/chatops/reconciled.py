"""When the notes of a merge request need listing again before the gate decides.

GitLab counts the non-system notes of a merge request in ``user_notes_count``
(single merge request endpoint, read by every gate decision anyway). Once
the bot has listed the notes of ``!iid`` and found every command note
answered (its own replies included), it remembers that count with what the
notes told the gate. While the count read from GitLab equals it, no note was
added or deleted since, so no command can be waiting and the listing is
skipped: an unchanged decision costs no notes call. Any other count, or no
entry (after a restart), means listing them again.

An edit leaves the count alone: an answered note never runs again by design,
and a note that gains a command by an edit is run at the next listing (a
human note event on the merge request drops the entry, see
``CommandHandler.on_note``).

Known gap: a note added while another is deleted, both between two
listings and the added note's webhook lost, leaves the count as it was; that
command waits for the next listing (another note, a note event, a restart).
GitLab offers no cheaper signal of a deletion than listing the notes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.gate.model import CommandNotes
from bot.gitlab import Note

RECONCILED_LIMIT = 10_000


@dataclass(frozen=True)
class Reconciled:
    """The note count of a merge request when its notes were last listed and
    every command in them was answered, and what they told the gate."""

    user_notes_count: int
    notes: CommandNotes


class ReconciledNotes:
    """Per merge request iid, the last full reconciliation of its notes."""

    def __init__(self, limit: int = RECONCILED_LIMIT) -> None:
        """Remember at most ``limit`` merge requests (then start over)."""
        self._limit = limit
        self._by_iid: dict[int, Reconciled] = {}

    def current(self, iid: int, user_notes_count: int | None) -> CommandNotes | None:
        """What the notes of ``!iid`` tell the gate, when GitLab's count says
        none was added or deleted since they were reconciled; else None."""
        entry = self._by_iid.get(iid)
        if entry is None or user_notes_count is None:
            return None
        return entry.notes if entry.user_notes_count == user_notes_count else None

    def remember(self, iid: int, notes: Iterable[Note], gate: CommandNotes) -> None:
        """Record that ``notes`` (the full listing, plus the replies posted
        since) leave no command of ``!iid`` unanswered."""
        if len(self._by_iid) >= self._limit and iid not in self._by_iid:
            self._by_iid.clear()  # each costs one notes listing to find again
        self._by_iid[iid] = Reconciled(count_user_notes(notes), gate)

    def forget(self, iid: int) -> None:
        """List the notes of ``!iid`` again before its next decision."""
        self._by_iid.pop(iid, None)


def count_user_notes(notes: Iterable[Note]) -> int:
    """The notes GitLab counts in ``user_notes_count``: the non-system ones
    (each once, as a listing read page by page may repeat one)."""
    return len({note.id for note in notes if not note.system})
