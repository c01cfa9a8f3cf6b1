"""The hidden record marker: rendering, parsing, and refusing corrupt markers."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.record import (
    MARKER_OPEN,
    DeployRecord,
    Pin,
    Source,
    has_marker,
    parse_marker,
    read_marker,
    render_marker,
)

RECORD = DeployRecord(
    app="my-app",
    environment="production",
    image="registry.example.com/my-org/my-app",
    tag="v1.4.2",
    digest="sha256:" + "a" * 64,
    previous_tag="v1.4.1",
    source=Source(project="my-org/my-app", sha="abc123", ref="main"),
    superseded_tags=("v1.4.0",),
    requested_by="my-org/my-app",
    pin=Pin(tag="v1.4.2", reason="incident 42 --> rollback", by="alice"),
)

texts = st.text(max_size=40)
optional_texts = st.none() | texts
records = st.builds(
    DeployRecord,
    app=texts,
    environment=texts,
    image=texts,
    tag=optional_texts,
    digest=optional_texts,
    previous_tag=optional_texts,
    previous_digest=optional_texts,
    source=st.none()
    | st.builds(Source, optional_texts, optional_texts, optional_texts, optional_texts),
    superseded_tags=st.lists(texts, max_size=4).map(tuple),
    requested_by=optional_texts,
    pin=st.none() | st.builds(Pin, texts, optional_texts, optional_texts),
    commit=optional_texts,
)


def _marker_from(data: dict) -> str:
    """Wrap hand-edited record JSON in a marker, keeping '>' out of it."""
    payload = json.dumps(data).replace(">", "\\u003e")
    return f"{MARKER_OPEN}{payload} -->"


@settings(max_examples=150, deadline=None)
@given(record=records, before=texts, after=texts)
def test_marker_round_trips_any_record(record: DeployRecord, before: str, after: str):
    """Any record, with any surrounding text, reads back equal from its marker."""
    marker = render_marker(record)
    description = f"{before.replace(MARKER_OPEN, '')}\n{marker}\n" + after.replace(
        MARKER_OPEN, ""
    )

    assert parse_marker(description) == record


@settings(max_examples=150, deadline=None)
@given(record=records)
def test_marker_is_one_html_comment_that_values_cannot_close(record: DeployRecord):
    """The marker is a single line holding exactly one comment terminator."""
    marker = render_marker(record)

    assert marker.startswith("<!-- gitops-bot:record {")
    assert marker.endswith(" -->")
    assert marker.count("-->") == 1
    assert marker.count("<") == 1 and marker.count(">") == 1
    assert "\n" not in marker


def test_marker_is_compact_sorted_and_stable():
    """The same record renders to the same bytes, keys sorted, no spaces."""
    payload = render_marker(RECORD)[len(MARKER_OPEN) : -len(" -->")]

    assert render_marker(RECORD) == render_marker(RECORD)
    assert ", " not in payload and '": ' not in payload
    assert list(json.loads(payload)) == sorted(json.loads(payload))
    assert "\\u003e" in payload  # the '>' of "-->" inside the pin reason


@pytest.mark.parametrize(
    ("description", "found", "problem"),
    [
        (None, False, None),
        ("", False, None),
        ("Just a human merge request.", False, None),
        ("<!-- some other comment -->", False, None),
        ("<!-- gitops-bot:record {not json} -->", True, "Expecting property name"),
        ("<!-- gitops-bot:record [1, 2] -->", True, "record is list, not an object"),
        ('<!-- gitops-bot:record {"version": 1} -->', True, "field app is None"),
        (
            '<!-- gitops-bot:record {"version": 9, "app": "a"} -->',
            True,
            "record version 9 is newer than this bot reads",
        ),
        (
            '<!-- gitops-bot:record {"version": "1"} -->',
            True,
            "record version '1' is not a positive integer",
        ),
        ("<!-- gitops-bot:record {", True, "not closed"),
    ],
)
def test_unreadable_markers_give_none_and_a_reason(
    description: str | None, found: bool, problem: str | None
):
    """A missing or corrupt marker reads as no record, with the reason when corrupt."""
    reading = read_marker(description)

    assert reading.record is None
    assert parse_marker(description) is None
    assert reading.found is found
    assert has_marker(description) is found
    if problem is None:
        assert reading.problem is None
    else:
        assert problem in reading.problem


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("tag", 12, "field tag is 12, not a string"),
        ("superseded_tags", "v1", "field superseded_tags is 'v1', not a list"),
        ("superseded_tags", [1], "not a list of strings"),
        ("source", "x", "source is str, not an object"),
        ("pin", {"reason": "r"}, "field pin.tag is None, not a string"),
        ("source", {"sha": 5}, "field source.sha is 5, not a string"),
        ("commit", ["abc"], "field commit is ['abc'], not a string"),
    ],
)
def test_wrong_field_types_are_named(field: str, value: object, problem: str):
    """A marker with a field of the wrong type names that field."""
    data = json.loads(render_marker(RECORD)[len(MARKER_OPEN) : -len(" -->")])
    data[field] = value

    reading = read_marker(_marker_from(data))

    assert reading.record is None
    assert reading.problem == problem or problem in reading.problem


def test_the_last_marker_is_the_record():
    """The bot writes its marker as the last line: a marker above it (a
    copied description) does not make the record unreadable, it is ignored."""
    other = DeployRecord(app="other", environment="staging", image="img")
    description = f"{render_marker(other)}\ntext\n{render_marker(RECORD)}\n"

    reading = read_marker(description)

    assert reading.record == RECORD
    assert reading.problem is None


@pytest.mark.parametrize(
    "line",
    [
        '+# reviewed <!-- gitops-bot:record {"app":"x"} -->',
        '**Pinned** to v1: evil --> <!-- gitops-bot:record {"app":"my-app",'
        '"environment":"staging","tag":"v0.0.1"} --> done',
        "  <!-- gitops-bot:record {} -->",
    ],
)
def test_marker_text_above_the_record_is_not_the_record(line: str):
    """Marker text above the bot's marker (a diff line, a reason in a
    sentence, written before such text was escaped) is not the bot's: the
    record below it still reads, in full."""
    reading = read_marker(f"Deploy\n\n{line}\n\n{render_marker(RECORD)}\n")

    assert reading.record == RECORD
    assert reading.problem is None


def test_repeated_identical_marker_is_read():
    """The same marker twice (a copied description) still reads."""
    description = f"{render_marker(RECORD)}\ntext\n{render_marker(RECORD)}"

    assert parse_marker(description) == RECORD


def test_unknown_fields_are_ignored_for_forward_compatibility():
    """A field this version does not know is skipped, the rest still reads."""
    data = json.loads(render_marker(RECORD)[len(MARKER_OPEN) : -len(" -->")])
    data["added_later"] = {"x": 1}

    assert parse_marker(_marker_from(data)) == RECORD


def test_marker_without_commit_reads_as_before_the_field_existed():
    """A marker written before ``commit`` existed reads with no commit, and a
    record without one renders without the key (same bytes as before)."""
    data = json.loads(render_marker(RECORD)[len(MARKER_OPEN) : -len(" -->")])

    assert "commit" not in data
    assert parse_marker(_marker_from(data)) == RECORD


def test_marker_carries_the_commit_the_bot_wrote():
    """A record with the bot's commit keeps it through the marker."""
    written = replace(RECORD, commit="c" * 40)

    assert '"commit":"' + "c" * 40 + '"' in render_marker(written)
    assert parse_marker(render_marker(written)) == written


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (replace(RECORD, commit="c" * 40), True),
        (RECORD, True),
        (replace(RECORD, tag="v1.4.3", commit="c" * 40), False),
        (None, False),
    ],
)
def test_same_deployment_ignores_only_the_commit(
    other: DeployRecord | None, same: bool
):
    """Two records describe the same deployment whatever commit they name."""
    assert replace(RECORD, commit="d" * 40).same_deployment(other) is same
