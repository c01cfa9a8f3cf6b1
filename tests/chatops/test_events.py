"""Whether a note webhook concerns the bot: decided once, on our own type."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chatops import NoteEvent, note_skip_reason
from tests.conftest import GITLAB_FIXTURES, require_shared

BOT_ID = 99
OWN_NOTE = Path(__file__).parent / "data" / "note_on_bot_mr.json"


def _payload() -> dict[str, Any]:
    """Return a fresh copy of our note-on-a-bot-merge-request fixture."""
    return json.loads(OWN_NOTE.read_text())


def test_note_on_a_bot_merge_request_is_read_and_acted_on():
    """A new human note on the bot's merge request yields every field we use."""
    event = NoteEvent.from_payload(_payload(), bot_user_id=BOT_ID)

    assert event == NoteEvent(
        noteable_type="MergeRequest",
        action="create",
        is_system=False,
        author_id=31,
        author_username="alice",
        bot_user_id=BOT_ID,
        body="/gitops status",
        note_id=9001,
        project_id=12,
        mr_iid=4,
        mr_author_id=BOT_ID,
        mr_labels=("gitops-bot", "env::production"),
        mr_has_marker=True,
    )
    assert note_skip_reason(event) is None


def _edit(path: str, value: object) -> dict[str, Any]:
    """Return the fixture with one dotted path set (or removed for ...)."""
    payload = _payload()
    *parents, key = path.split(".")
    target = payload
    for parent in parents:
        target = target[parent]
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return payload


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("object_attributes.action", "update",
         "note update: commands run only when a note is created"),
        ("object_attributes.noteable_type", "Commit",
         "note on Commit, not a merge request"),
        ("object_attributes.noteable_type", "Issue",
         "note on Issue, not a merge request"),
        ("object_attributes.noteable_type", "Snippet",
         "note on Snippet, not a merge request"),
        ("object_attributes.system", True, "system note"),
        ("user.id", BOT_ID, "the bot's own note"),
        ("merge_request", ..., "the payload names no merge request"),
        ("merge_request.author_id", 31, "!4 was not opened by the bot"),
        ("merge_request.author_id", ..., "!4 was not opened by the bot"),
    ],
)  # fmt: skip
def test_notes_the_bot_must_not_act_on(path: str, value: object, reason: str):
    """Edited, system, foreign and self-authored notes are skipped, with why."""
    event = NoteEvent.from_payload(_edit(path, value), bot_user_id=BOT_ID)

    assert note_skip_reason(event) == reason


def test_bot_authored_merge_request_without_record_or_label_is_not_ours():
    """A merge request the bot user opened by other means is left alone."""
    payload = _payload()
    payload["merge_request"]["description"] = "hand-made"
    payload["merge_request"]["labels"] = []

    event = NoteEvent.from_payload(payload, bot_user_id=BOT_ID)

    assert note_skip_reason(event) == (
        "!4 has neither the bot's record nor the gitops-bot label"
    )


@pytest.mark.parametrize("keep", ["label", "marker"])
def test_record_or_label_is_enough_to_own(keep: str):
    """Either the record marker or the bot label marks a bot merge request."""
    payload = _payload()
    if keep == "label":
        payload["merge_request"]["description"] = None
    else:
        payload["merge_request"]["labels"] = ["other"]

    assert note_skip_reason(NoteEvent.from_payload(payload, bot_user_id=BOT_ID)) is None


def test_payload_from_before_gitlab_16_11_without_action_counts_as_created():
    """GitLab sent no action before 16.11; such a note is a new one."""
    event = NoteEvent.from_payload(
        _edit("object_attributes.action", ...), bot_user_id=BOT_ID
    )

    assert event.action == "create"
    assert note_skip_reason(event) is None


def test_gitlab_documented_note_example_is_not_ours():
    """GitLab's own example payload (an MR the bot did not open) is skipped."""
    path = require_shared(GITLAB_FIXTURES / "webhooks" / "note_merge_request.json")

    event = NoteEvent.from_payload(json.loads(path.read_text()), bot_user_id=BOT_ID)

    assert (event.noteable_type, event.mr_iid, event.mr_labels) == (
        "MergeRequest", 1, ("Afterpod", "Element"),
    )  # fmt: skip
    assert note_skip_reason(event) == "!1 was not opened by the bot"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    path=st.sampled_from(
        ["object_attributes", "object_attributes.note", "object_attributes.id",
         "user", "user.id", "merge_request", "merge_request.labels",
         "merge_request.iid", "merge_request.description", "object_attributes.system"]
    ),
    value=json_values,
)  # fmt: skip
def test_any_payload_shape_is_read_without_crashing(path: str, value: object):
    """Whatever GitLab (or a forger) puts in a field, reading never raises."""
    event = NoteEvent.from_payload(
        _edit(path, copy.deepcopy(value)), bot_user_id=BOT_ID
    )

    assert isinstance(note_skip_reason(event), str | None)
    assert isinstance(event.body, str)


@pytest.mark.parametrize("payload", [{}, {"object_attributes": []}, {"user": "x"}])
def test_payloads_of_unknown_shape_are_skipped(payload: dict[str, Any]):
    """A payload missing its parts is read as a note on nothing, and skipped."""
    event = NoteEvent.from_payload(payload, bot_user_id=BOT_ID)

    assert note_skip_reason(event) == "note on an unknown object, not a merge request"
