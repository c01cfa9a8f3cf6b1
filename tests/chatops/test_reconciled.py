"""When the gate may skip listing a merge request's notes: GitLab's count of
them is the one at which they were last reconciled."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chatops.reconciled import ReconciledNotes, count_user_notes
from bot.gate.model import CommandNotes
from bot.gitlab import Note

HELD = CommandNotes(held_by="bob", hold_reason="incident")
LISTED = (Note(1, "hi", 2), Note(2, "added ~x", 2, system=True), Note(3, "ok", 9))

CURRENT: list[tuple[str, int | None, int | None, CommandNotes | None]] = [
    # (case, iid asked, count read from GitLab, expected)
    ("same count", 5, 2, HELD),
    ("a note added", 5, 3, None),
    ("a note deleted", 5, 1, None),
    ("no count in GitLab's answer", 5, None, None),
    ("another merge request", 6, 2, None),
]


@pytest.mark.parametrize(("case", "iid", "count", "expected"), CURRENT)
def test_remembered_notes_only_for_the_same_count(
    case: str, iid: int, count: int | None, expected: CommandNotes | None
) -> None:
    """The remembered notes answer only for the same merge request and
    exactly the count reconciled (2 non-system notes here); anything else,
    or a count GitLab did not send, means listing them."""
    reconciled = ReconciledNotes()
    reconciled.remember(5, LISTED, HELD)

    assert reconciled.current(iid, count) == expected, case


def test_forget_and_remember_again() -> None:
    """A forgotten merge request is listed again; remembering it anew with
    the bot's reply added counts that reply too."""
    reconciled = ReconciledNotes()
    reconciled.remember(5, LISTED, HELD)
    reconciled.forget(5)
    reconciled.forget(7)  # never remembered: nothing to do

    assert reconciled.current(5, 2) is None
    reconciled.remember(5, (*LISTED, Note(4, "reply", 99)), CommandNotes())
    assert reconciled.current(5, 3) == CommandNotes()
    assert reconciled.current(5, 2) is None


def test_full_memory_starts_over() -> None:
    """Past its limit the memory empties (each MR then costs one listing);
    updating a merge request already remembered never empties it."""
    reconciled = ReconciledNotes(limit=2)
    reconciled.remember(1, LISTED, HELD)
    reconciled.remember(2, LISTED, HELD)
    reconciled.remember(2, LISTED[:1], HELD)

    assert reconciled.current(1, 2) == HELD and reconciled.current(2, 1) == HELD
    reconciled.remember(3, LISTED, HELD)
    assert reconciled.current(1, 2) is None and reconciled.current(2, 1) is None
    assert reconciled.current(3, 2) == HELD


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.booleans()), max_size=40))
def test_count_is_distinct_non_system_notes(notes: list[tuple[int, bool]]) -> None:
    """GitLab's ``user_notes_count`` counts non-system notes; a listing read
    page by page may repeat one, which counts once."""
    listed = [Note(note_id, "x", 2, system=system) for note_id, system in notes]
    user_ids = {note_id for note_id, system in notes if not system}

    assert count_user_notes(listed) == len(user_ids)
