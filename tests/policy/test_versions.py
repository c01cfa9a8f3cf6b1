"""Version ordering of tags, and the refusal of older tags without force."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.policy import OlderTag, Ordering, compare_tags, ensure_not_older

NEWER, OLDER, SAME, UNKNOWN = (
    Ordering.NEWER,
    Ordering.OLDER,
    Ordering.SAME,
    Ordering.UNKNOWN,
)


@pytest.mark.parametrize(
    ("old", "new", "ordering"),
    [
        ("1.2.0", "1.3.0", NEWER),
        ("v1.3.0", "v1.2.0", OLDER),
        ("v1.2.0", "1.2.0", SAME),
        ("1.2", "1.2.0", SAME),
        ("1.9.0", "1.10.0", NEWER),
        ("v2.0", "v10.0", NEWER),
        ("1.0.0-rc.1", "1.0.0", NEWER),
        ("1.0.0", "1.0.0-rc.1", OLDER),
        ("1.0.0-alpha", "1.0.0-beta", NEWER),
        ("1.0.0-rc.2", "1.0.0-rc.10", NEWER),
        ("V1.4", "v1.5", NEWER),
        ("latest", "v1.2.0", UNKNOWN),
        ("v1.2.0", "main-3f2a1bc", UNKNOWN),
        ("1234567", "2345678", UNKNOWN),
        ("20240101", "20231231", UNKNOWN),
        ("v2", "v10", UNKNOWN),
        ("1.2.3-alpine", "1.2.4-alpine", UNKNOWN),
        ("abc123", "abc123", SAME),
    ],
)
def test_compare_tags(old: str, new: str, ordering: Ordering) -> None:
    """Dotted versions are ordered; anything else makes no claim."""
    assert compare_tags(old, new) is ordering


@pytest.mark.parametrize(
    ("current", "requested", "force", "where", "message"),
    [
        (
            "v1.3.0",
            "v1.2.0",
            False,
            "currently proposed in !12",
            "tag v1.2.0 is older than v1.3.0 currently proposed in !12; pass force "
            "to roll back",
        ),
        (
            "2.0.0",
            "2.0.0-rc.1",
            False,
            "currently deployed on main",
            "tag 2.0.0-rc.1 is older than 2.0.0 currently deployed on main; pass "
            "force to roll back",
        ),
    ],
)
def test_older_tag_is_refused(
    current: str, requested: str, force: bool, where: str, message: str
) -> None:
    """An older tag raises OlderTag (409) saying which one is newer."""
    with pytest.raises(OlderTag) as caught:
        ensure_not_older(current, requested, force, where=where)
    assert str(caught.value) == message
    assert OlderTag.http_status == 409


@pytest.mark.parametrize(
    ("current", "requested", "force"),
    [
        ("v1.3.0", "v1.2.0", True),
        ("v1.2.0", "v1.3.0", False),
        ("v1.2.0", "v1.2.0", False),
        (None, "v0.1.0", False),
        ("latest", "v0.1.0", False),
        ("v9.9.9", "hotfix", False),
    ],
)
def test_allowed_tags(current: str | None, requested: str, force: bool) -> None:
    """Newer, equal, unordered tags and forced rollbacks pass."""
    assert ensure_not_older(current, requested, force) is None


def test_default_where_text() -> None:
    """Without ``where`` the message says "currently deployed"."""
    with pytest.raises(OlderTag, match=r"older than 1\.1 currently deployed;"):
        ensure_not_older("1.1", "1.0", False)


PARTS = st.integers(min_value=0, max_value=30)
PRE = st.one_of(
    st.just(""),
    st.builds(
        lambda kind, n: f"-{kind}.{n}", st.sampled_from(["alpha", "beta", "rc"]), PARTS
    ),
)
VERSION = st.tuples(st.sampled_from(["", "v"]), PARTS, PARTS, PARTS, PRE)


def _text(version: tuple[str, int, int, int, str]) -> str:
    prefix, major, minor, patch, pre = version
    return f"{prefix}{major}.{minor}.{patch}{pre}"


def _key(
    version: tuple[str, int, int, int, str],
) -> tuple[int, int, int, int, str, int]:
    _, major, minor, patch, pre = version
    if not pre:
        return (major, minor, patch, 1, "", 0)
    kind, number = pre[1:].split(".")
    return (major, minor, patch, 0, kind, int(number))


@settings(max_examples=200, deadline=None)
@given(VERSION, VERSION)
def test_ordering_follows_the_numbers(a: tuple, b: tuple) -> None:
    """Generated versions order like (major, minor, patch, pre-release)."""
    expected = NEWER if _key(b) > _key(a) else OLDER if _key(b) < _key(a) else SAME
    assert compare_tags(_text(a), _text(b)) is expected


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(VERSION.map(_text), st.text(max_size=12)),
    st.one_of(VERSION.map(_text), st.text(max_size=12)),
)
def test_antisymmetry(a: str, b: str) -> None:
    """compare(a, b) is the mirror of compare(b, a), for any text."""
    mirror = {NEWER: OLDER, OLDER: NEWER, SAME: SAME, UNKNOWN: UNKNOWN}
    assert compare_tags(b, a) is mirror[compare_tags(a, b)]


@settings(max_examples=200, deadline=None)
@given(VERSION.map(_text), VERSION.map(_text), VERSION.map(_text))
def test_transitivity(a: str, b: str, c: str) -> None:
    """If b is newer than a and c newer than b, c is newer than a."""
    if compare_tags(a, b) is NEWER and compare_tags(b, c) is NEWER:
        assert compare_tags(a, c) is NEWER
    if compare_tags(a, b) is SAME and compare_tags(b, c) is SAME:
        assert compare_tags(a, c) is SAME
