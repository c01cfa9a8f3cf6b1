"""Whether a note concerns the bot: decided on the server's NoteEvent and on
the merge request as GitLab lists it."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chatops import merge_request_skip_reason, note_skip_reason
from bot.gitlab import MergeRequest
from bot.gitlab.models import parse_merge_request
from bot.record import has_marker
from bot.server.events import MalformedEvent, NoteEvent, parse_event
from tests.conftest import GITLAB_FIXTURES, require_shared

BOT_ID = 99
OWN_NOTE = Path(__file__).parent / "data" / "note_on_bot_mr.json"


def _payload() -> dict[str, Any]:
    """Return a fresh copy of our note-on-a-bot-merge-request fixture."""
    return json.loads(OWN_NOTE.read_text())


def _note(payload: dict[str, Any]) -> NoteEvent:
    """Parse a note webhook at the edge, as the server does."""
    event = parse_event(payload)
    assert isinstance(event, NoteEvent)
    return event


def _merge_request(merge_request: dict[str, Any]) -> MergeRequest:
    """Read a webhook's merge request block as the API would list it (the
    webhook names the author by ``author_id`` and labels by ``title``; the API
    by ``author.id`` and plain names)."""
    author = {"id": merge_request["author_id"]} if "author_id" in merge_request else {}
    labels = [
        label["title"] if isinstance(label, dict) else label
        for label in merge_request.get("labels", [])
    ]
    return parse_merge_request({**merge_request, "author": author, "labels": labels})


def test_note_on_a_bot_merge_request_is_read_and_acted_on():
    """A new human note on the bot's merge request yields every field we use."""
    payload = _payload()

    event = _note(payload)
    mr = _merge_request(payload["merge_request"])

    assert event == NoteEvent(
        project_path="platform/gitops",
        note_id=9001,
        noteable_type="MergeRequest",
        merge_request_iid=4,
        author_id=31,
        author_username="alice",
        body="/gitops status",
        action="create",
        system=False,
    )
    assert (mr.iid, mr.author_id, mr.labels, has_marker(mr.description)) == (
        4, BOT_ID, ("gitops-bot", "env::production"), True,
    )  # fmt: skip
    assert note_skip_reason(event) is None
    assert note_skip_reason(event, BOT_ID) is None
    assert merge_request_skip_reason(mr, BOT_ID) is None


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
    ],
)  # fmt: skip
def test_notes_the_bot_must_not_act_on(path: str, value: object, reason: str):
    """Edited, system, foreign and self-authored notes are skipped, with why."""
    event = _note(_edit(path, value))

    assert note_skip_reason(event, BOT_ID) == reason


@pytest.mark.parametrize("author_id", [31, ...])
def test_merge_requests_the_bot_did_not_open_are_not_ours(author_id: object):
    """A merge request by someone else, or naming no author, is left alone."""
    payload = _edit("merge_request.author_id", author_id)

    mr = _merge_request(payload["merge_request"])

    assert merge_request_skip_reason(mr, BOT_ID) == "!4 was not opened by the bot"


def test_bot_authored_merge_request_without_record_or_label_is_not_ours():
    """A merge request the bot user opened by other means is left alone."""
    payload = _payload()
    payload["merge_request"]["description"] = "hand-made"
    payload["merge_request"]["labels"] = []

    mr = _merge_request(payload["merge_request"])

    assert merge_request_skip_reason(mr, BOT_ID) == (
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

    assert (
        merge_request_skip_reason(_merge_request(payload["merge_request"]), BOT_ID)
        is None
    )


def test_payload_from_before_gitlab_16_11_without_action_counts_as_created():
    """GitLab sent no action before 16.11; such a note is a new one."""
    event = _note(_edit("object_attributes.action", ...))

    assert event.action == "create"
    assert note_skip_reason(event, BOT_ID) is None


def test_gitlab_documented_note_example_is_not_ours():
    """GitLab's own example payload (an MR the bot did not open) is skipped."""
    path = require_shared(GITLAB_FIXTURES / "webhooks" / "note_merge_request.json")

    payload = json.loads(path.read_text())

    event = _note(payload)
    mr = _merge_request(payload["merge_request"])

    assert (event.noteable_type, event.merge_request_iid, mr.labels) == (
        "MergeRequest", 1, ("Afterpod", "Element"),
    )  # fmt: skip
    assert note_skip_reason(event, BOT_ID) is None
    assert merge_request_skip_reason(mr, BOT_ID) == "!1 was not opened by the bot"


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
def test_any_payload_shape_is_read_or_refused_naming_the_field(
    path: str, value: object
):
    """Whatever GitLab (or a forger) puts in a field, the edge either reads a
    note the filter can judge or refuses it naming that field; nothing else
    raises."""
    try:
        event = parse_event(_edit(path, copy.deepcopy(value)))
    except MalformedEvent as error:
        assert str(error).startswith(f"webhook field {path}")
        return

    assert isinstance(event, NoteEvent)
    assert isinstance(note_skip_reason(event, BOT_ID), str | None)
    assert isinstance(event.body, str)


@pytest.mark.parametrize("payload", [{}, {"object_attributes": []}, {"user": "x"}])
def test_payloads_of_unknown_shape_are_skipped(payload: dict[str, Any]):
    """A payload of no known kind is ignored at the edge, and a note payload
    missing its parts is refused there, naming the part."""
    assert parse_event(payload) is None
    with pytest.raises(MalformedEvent) as raised:
        parse_event({**payload, "object_kind": "note"})
    assert str(raised.value) == "webhook field object_attributes: expected an object"


def test_note_on_an_unnamed_object_is_skipped():
    """A note whose object type is empty is a note on nothing, and skipped."""
    event = replace(_note(_payload()), noteable_type="")

    assert note_skip_reason(event) == "note on an unknown object, not a merge request"
