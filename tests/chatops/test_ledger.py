"""Which command notes the bot answered, read from one notes listing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chatops.grammar import Command, format_reply
from bot.chatops.ledger import Marker, answered_marker, read_ledger, read_marker
from bot.gate.model import CommandNotes
from bot.gitlab import Note

BOT = 99
BOB, ALICE = 2, 3


def human(note_id: int, body: str, author: int = BOB, **extra: object) -> Note:
    """A note by a person (bob unless told)."""
    name = {BOB: "bob", ALICE: "alice"}.get(author, "someone")
    return Note(note_id, body, author, author_username=name, **extra)  # type: ignore[arg-type]


def reply(
    note_id: int, answered: int, change: str | None = None, merge: str | None = None
) -> Note:
    """The bot's reply to note ``answered``."""
    marker = answered_marker(answered, change, merge)  # type: ignore[arg-type]
    body = f"> `/gitops x`\n\nDone.\n\n{marker}"
    return Note(note_id, body, BOT, author_username="gitops-bot")


def ledger(*notes: Note, also_answered: tuple[int, ...] = ()) -> CommandNotes:
    """The gate's view of ``notes``."""
    read = read_ledger(notes, bot_id=BOT, prefix="/gitops", also_answered=also_answered)
    return read.for_gate()


MARKERS: list[tuple[str, Marker | None]] = [
    ("Held.\n\n<!-- gitops-bot:answered 33 -->", Marker((33,))),
    ("<!-- gitops-bot:answered 33 -->\n", Marker((33,))),
    ("x\n<!-- gitops-bot:answered 33 held -->", Marker((33,), "held")),
    ("x\n<!-- gitops-bot:answered 33 unheld -->", Marker((33,), "unheld")),
    ("x\n<!-- gitops-bot:answered 4 5 6 -->", Marker((4, 5, 6))),
    ("x\n<!-- gitops-bot:answered 3 merge v1.2.0 -->", Marker((3,), None, "v1.2.0")),
    ("<!-- gitops-bot:answered 3 held merge sha256:ab -->",
     Marker((3,), "held", "sha256:ab")),
    ("<!-- gitops-bot:answered 3 merge -->", None),
    ("<!-- gitops-bot:answered 3 merge a b -->", None),
    ("<!-- gitops-bot:answered 3 merge v1 held -->", None),
    ("<!-- gitops-bot:answered 33 -->\nmore text", None),
    ("<!-- gitops-bot:answered 33 paused -->", None),
    ("<!-- gitops-bot:answered -->", None),
    ("<!-- gitops-bot:answered 3x -->", None),
    ("<!-- gitops-bot:pipeline-failed abc -->", None),
    ("", None),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), MARKERS)
def test_read_marker(body: str, expected: object) -> None:
    """Only a well-formed marker on the note's last line counts."""
    assert read_marker(body) == expected


def test_marker_round_trip() -> None:
    """What ``answered_marker`` writes, ``read_marker`` reads back."""
    for change in (None, "held", "unheld"):
        for key in (None, "v1.2.0", "sha256:0f"):
            written = answered_marker(7, change, key)  # type: ignore[arg-type]
            assert read_marker(written) == Marker((7,), change, key)  # type: ignore[arg-type]


def test_a_key_the_marker_cannot_carry_is_left_out() -> None:
    """A tag with a space or ``-->`` is not remembered, and the reply still
    names the note it answers (it is never answered twice)."""
    for key in ("a b", "v1-->x", ""):
        assert read_marker(answered_marker(7, None, key)) == Marker((7,))


LEDGERS: list[tuple[str, list[Note], CommandNotes]] = [
    ("an unanswered hold blocks", [human(1, "/gitops hold")], CommandNotes((1,))),
    ("an answered hold does not", [human(1, "/gitops hold"), reply(2, 1)],
     CommandNotes()),
    ("listing order does not matter", [reply(2, 1), human(1, "/gitops merge")],
     CommandNotes()),
    ("status alone never blocks", [human(1, "/gitops status")], CommandNotes()),
    ("help and a malformed line never block",
     [human(1, "/gitops help"), human(2, "/gitops frobnicate")], CommandNotes()),
    ("a note without a command is no command",
     [human(1, "LGTM, see /gitops docs")], CommandNotes()),
    ("the bot's own notes never count",
     [Note(1, "/gitops hold", BOT, author_username="gitops-bot")], CommandNotes()),
    ("system notes never count",
     [Note(1, "/gitops hold", BOB, system=True)], CommandNotes()),
    ("a human cannot forge the marker",
     [human(1, "/gitops hold"), human(2, answered_marker(1))], CommandNotes((1,))),
    ("a marker quoted mid-reply does not count",
     [human(1, "/gitops hold"),
      Note(2, f"{answered_marker(1)}\n\ntext", BOT)], CommandNotes((1,))),
    ("pending notes in note order",
     [human(5, "/gitops unhold"), human(3, "/gitops hold"), human(4, "/gitops merge")],
     CommandNotes((3, 4, 5))),
    ("who held and why",
     [human(1, "/gitops hold incident in progress"), reply(2, 1, "held")],
     CommandNotes((), "bob", "incident in progress", held=True)),
    ("a hold without a reason",
     [human(1, "/gitops hold"), reply(2, 1, "held")],
     CommandNotes((), "bob", None, held=True)),
    ("the last hold of the note names the reason",
     [human(1, "/gitops hold a\n/gitops hold b"), reply(2, 1, "held")],
     CommandNotes((), "bob", "b", held=True)),
    ("an unhold after the hold lifts it",
     [human(1, "/gitops hold x"), reply(2, 1, "held"),
      human(3, "/gitops unhold", ALICE), reply(4, 3, "unheld")], CommandNotes()),
    ("a later hold replaces the earlier",
     [human(1, "/gitops hold x"), reply(2, 1, "held"),
      human(3, "/gitops hold y", ALICE), reply(4, 3, "held")],
     CommandNotes((), "alice", "y", held=True)),
    ("a refused hold changes nothing",
     [human(1, "/gitops hold x"), reply(2, 1, "held"),
      human(3, "/gitops hold y", ALICE), reply(4, 3)],
     CommandNotes((), "bob", "x", held=True)),
    ("a held note since deleted names nobody but still holds",
     [reply(2, 1, "held")], CommandNotes(held=True)),
    ("a remembered merge names its tag",
     [human(1, "/gitops merge"), reply(2, 1, None, "v1.1.0")],
     CommandNotes(merge_requested_for="v1.1.0")),
    ("the last remembered merge wins",
     [human(1, "/gitops merge"), reply(2, 1, None, "v1.1.0"),
      human(3, "/gitops merge"), reply(4, 3, None, "v1.2.0"),
      human(5, "/gitops merge"), reply(6, 5)],
     CommandNotes(merge_requested_for="v1.2.0")),
    ("a human cannot forge a merge",
     [human(1, answered_marker(9, None, "v1.1.0"))], CommandNotes()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("notes", "expected"),
    [(notes, expected) for _, notes, expected in LEDGERS],
    ids=[name for name, _, _ in LEDGERS],
)
def test_read_ledger(notes: list[Note], expected: CommandNotes) -> None:
    """Unanswered command notes and the hold in force, from one listing."""
    assert ledger(*notes) == expected


def test_notes_answered_by_emoji_count_as_answered() -> None:
    """A note the bot awarded before replies carried the marker is answered."""
    notes = (human(1, "/gitops hold"), human(2, "/gitops merge"))
    assert ledger(*notes, also_answered=(1,)) == CommandNotes((2,))


def test_the_running_note_does_not_block_itself() -> None:
    """While a note is answered, only the other unanswered ones block."""
    notes = (human(1, "/gitops merge"), human(2, "/gitops hold"))
    read = read_ledger(notes, bot_id=BOT, prefix="/gitops")
    assert [note.id for note in read.pending] == [1, 2]
    assert read.for_gate(running=1) == CommandNotes((2,))


def test_another_prefix() -> None:
    """The configured prefix decides what is a command."""
    notes = (human(1, "/gitops hold"), human(2, "!ops hold"))
    assert read_ledger(notes, bot_id=BOT, prefix="!ops").for_gate() == CommandNotes(
        (2,)
    )


@settings(max_examples=60, deadline=None)
@given(raw=st.text(max_size=120), answered=st.integers(1, 10**6))
def test_quoted_text_never_forges_a_marker(raw: str, answered: int) -> None:
    """Whatever a human wrote and the bot quotes, the reply's marker names
    exactly the note it answers."""
    text = format_reply(Command("hold", (raw,), raw), f"Held: {raw}")
    body = f"{text}\n\n{answered_marker(answered)}"
    assert read_marker(body) == Marker((answered,))
