"""Freeze and merge windows across time zones, DST and midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.config import EnvironmentConfig
from bot.policy import FreezeState, is_frozen

BERLIN_WEEKEND = {
    "freeze_windows": [
        {"days": ["fri"], "start": "16:00", "end": "24:00",
         "timezone": "Europe/Berlin"},
        {"days": ["sat", "sun"], "start": "00:00", "end": "24:00",
         "timezone": "Europe/Berlin"},
    ]
}  # fmt: skip
NEW_YORK_NIGHT = {
    "freeze_windows": [
        {"days": ["sat"], "start": "22:00", "end": "06:00",
         "timezone": "America/New_York"},
    ]
}  # fmt: skip
OFFICE_HOURS = {
    "merge_windows": [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    ]
}
DAYTIME_WITH_FRIDAY_FREEZE = {
    "merge_windows": [{"start": "09:00", "end": "17:00"}],
    "freeze_windows": [{"days": ["fri"], "start": "12:00", "end": "24:00"}],
}
ALWAYS_FROZEN = {"freeze_windows": [{"start": "00:00", "end": "24:00"}]}
TOKYO_MONDAY = {
    "freeze_windows": [
        {"days": ["mon"], "start": "00:00", "end": "24:00", "timezone": "Asia/Tokyo"}
    ]
}


def utc(*parts: int) -> datetime:
    """A UTC datetime."""
    return datetime(*parts, tzinfo=UTC)


def env(windows: dict) -> EnvironmentConfig:
    """An environment with ``windows`` and defaults for everything else."""
    return EnvironmentConfig.model_validate(windows)


# 2024-01-12 and 2024-07-12 are Fridays; 2024-03-10 is the Sunday New York
# moves to daylight time (02:00 EST -> 03:00 EDT).
CASES = [
    (BERLIN_WEEKEND, utc(2024, 1, 12, 14, 59), None),
    (BERLIN_WEEKEND, utc(2024, 1, 12, 15, 0), utc(2024, 1, 14, 23, 0)),
    (BERLIN_WEEKEND, utc(2024, 7, 12, 14, 30), utc(2024, 7, 14, 22, 0)),
    (BERLIN_WEEKEND, utc(2024, 7, 12, 13, 59), None),
    (BERLIN_WEEKEND, utc(2024, 1, 14, 22, 59), utc(2024, 1, 14, 23, 0)),
    (BERLIN_WEEKEND, utc(2024, 1, 14, 23, 0), None),
    (NEW_YORK_NIGHT, utc(2024, 3, 10, 2, 59), None),
    (NEW_YORK_NIGHT, utc(2024, 3, 10, 3, 0), utc(2024, 3, 10, 10, 0)),
    (NEW_YORK_NIGHT, utc(2024, 3, 10, 9, 59), utc(2024, 3, 10, 10, 0)),
    (NEW_YORK_NIGHT, utc(2024, 3, 10, 10, 0), None),
    (NEW_YORK_NIGHT, utc(2024, 3, 11, 3, 0), None),
    (OFFICE_HOURS, utc(2024, 1, 12, 12, 0), None),
    (OFFICE_HOURS, utc(2024, 1, 12, 17, 0), utc(2024, 1, 15, 9, 0)),
    (OFFICE_HOURS, utc(2024, 1, 13, 10, 0), utc(2024, 1, 15, 9, 0)),
    (OFFICE_HOURS, utc(2024, 1, 16, 8, 0), utc(2024, 1, 16, 9, 0)),
    (DAYTIME_WITH_FRIDAY_FREEZE, utc(2024, 1, 12, 11, 0), None),
    (DAYTIME_WITH_FRIDAY_FREEZE, utc(2024, 1, 12, 13, 0), utc(2024, 1, 13, 9, 0)),
    (TOKYO_MONDAY, utc(2024, 1, 14, 14, 59), None),
    (TOKYO_MONDAY, utc(2024, 1, 14, 15, 0), utc(2024, 1, 15, 15, 0)),
    ({}, utc(2024, 1, 13, 3, 0), None),
]


@pytest.mark.parametrize(("windows", "now", "until"), CASES)
def test_is_frozen(windows: dict, now: datetime, until: datetime | None) -> None:
    """Frozen inside a freeze or outside the merge windows, until they reopen."""
    state = is_frozen(env(windows), now)
    if until is None:
        assert state is None
    else:
        assert state is not None and state.until == until


def test_now_in_another_zone_is_the_same_instant() -> None:
    """The caller's time zone does not change the answer."""
    berlin_friday_evening = datetime(
        2024, 1, 12, 17, 30, tzinfo=timezone(timedelta(hours=1))
    )
    state = is_frozen(env(BERLIN_WEEKEND), berlin_friday_evening)
    assert state is not None and state.until == utc(2024, 1, 14, 23, 0)


def test_freeze_state_names_the_window() -> None:
    """The state names the freeze window and when it ends."""
    state = is_frozen(env(NEW_YORK_NIGHT), utc(2024, 3, 10, 5, 0))

    assert state == FreezeState(
        "freeze window sat 22:00-06:00 America/New_York",
        env(NEW_YORK_NIGHT).freeze_windows[0],
        utc(2024, 3, 10, 10, 0),
    )
    assert state.describe() == (
        "freeze window sat 22:00-06:00 America/New_York, until 2024-03-10 10:00 UTC"
    )


def test_outside_merge_windows_is_described() -> None:
    """Outside every merge window the state says so and when one opens."""
    state = is_frozen(env(OFFICE_HOURS), utc(2024, 1, 13, 10, 0))

    assert state is not None and state.window is None
    assert state.describe() == ("outside the merge windows, until 2024-01-15 09:00 UTC")


def test_a_freeze_that_never_ends_is_indefinite() -> None:
    """Windows covering the whole week freeze indefinitely."""
    state = is_frozen(env(ALWAYS_FROZEN), utc(2024, 1, 13, 10, 0))

    assert state is not None and state.until is None
    assert state.describe() == (
        "freeze window mon,tue,wed,thu,fri,sat,sun 00:00-24:00 UTC, indefinitely"
    )


def test_naive_datetimes_are_refused() -> None:
    """A naive datetime is a programming error, not a guess about the zone."""
    with pytest.raises(ValueError, match="time-zone aware"):
        is_frozen(env(OFFICE_HOURS), datetime(2024, 1, 13, 10, 0))
