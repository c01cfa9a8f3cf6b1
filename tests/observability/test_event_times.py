"""Reading the time of a webhook's event (for its lag) and naming gate
decisions for the metrics: pure functions, table tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.gate import CancelAutoMerge, Merge, Reason, Regenerate, ReportFailure, Wait
from bot.gate.execute import decision_name, main_reason
from bot.server.webhooks import event_timestamp, parse_timestamp

NOON = datetime(2024, 5, 17, 12, 0, tzinfo=UTC).timestamp()
HELD = Reason("held", "held")
RACE = Reason("need_rebase", "behind")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-17T12:00:00Z", NOON),
        ("2024-05-17T12:00:00.250Z", NOON + 0.25),
        ("2024-05-17 12:00:00 UTC", NOON),
        ("2024-05-17 14:00:00 +0200", NOON),
        ("2024-05-17T14:00:00+02:00", NOON),
        ("2024-05-17T12:00:00.123456789Z", NOON + 0.123456),
        ("2024-05-17 12:00:00", NOON),
        (" 2024-05-17 12:00:00 UTC ", NOON),
        ("2024-13-17 12:00:00 UTC", None),
        ("2024-05-17", None),
        ("yesterday", None),
        ("", None),
        ("2024-05-17 12:00:00 CEST", None),
    ],
)
def test_gitlab_timestamp_spellings(text: str, expected: float | None) -> None:
    """Every spelling GitLab uses reads as the same instant; others as None."""
    assert parse_timestamp(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"object_kind": "pipeline", "object_attributes": {
            "created_at": "2024-05-17 11:00:00 UTC",
            "finished_at": "2024-05-17 12:00:00 UTC"}}, NOON),
        ({"object_kind": "pipeline", "object_attributes": {
            "created_at": "2024-05-17 12:00:00 UTC", "finished_at": None}}, NOON),
        ({"object_kind": "merge_request", "object_attributes": {
            "updated_at": "2024-05-17T12:00:00Z"}}, NOON),
        ({"object_kind": "note", "object_attributes": {
            "updated_at": "garbage", "created_at": "2024-05-17 12:00:00 UTC"}}, NOON),
        ({"object_kind": "emoji", "object_attributes": {
            "updated_at": "2024-05-17 12:00:00 UTC"}}, NOON),
        ({"object_kind": "push", "object_attributes": {
            "updated_at": "2024-05-17 12:00:00 UTC"}}, None),
        ({"object_kind": "note", "object_attributes": "x"}, None),
        ({"object_kind": "note"}, None),
        ({"object_kind": "note", "object_attributes": {"updated_at": 5}}, None),
        ([], None),
    ],
)  # fmt: skip
def test_event_time_by_kind(payload: object, expected: float | None) -> None:
    """The event's latest change time by kind; None where there is none."""
    assert event_timestamp(payload) == expected


@pytest.mark.parametrize(
    ("decision", "name", "reason"),
    [
        (Merge("abc"), "merge", "ready"),
        (Merge("abc", auto_merge=True, reasons=(HELD,)), "merge", "held"),
        (Wait((HELD, RACE)), "wait", "held"),
        (Regenerate(RACE, (HELD, RACE)), "regenerate", "need_rebase"),
        (ReportFailure("abc", 7, (), (RACE,)), "report_failure", "need_rebase"),
        (CancelAutoMerge((HELD,)), "cancel_auto_merge", "held"),
    ],
)
def test_decision_labels(decision: object, name: str, reason: str) -> None:
    """Each decision kind has a snake-case label and a main reason: its own
    for Regenerate, else the first blocking one, ``ready`` when none."""
    assert (decision_name(decision), main_reason(decision)) == (name, reason)
