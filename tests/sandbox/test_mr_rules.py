"""Tables for label-set updates and approval arithmetic (pure code)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sandbox.mr import labels, rules
from bot.sandbox.mr.model import ApprovalRule


@pytest.mark.parametrize(
    ("value", "titles"),
    [
        (None, []),
        ("", []),
        ("a,b", ["a", "b"]),
        (" a , b ,,a", ["a", "b"]),
        (["x", "y", "x"], ["x", "y"]),
        ("prio::high", ["prio::high"]),
    ],
)
def test_split_titles(value: object, titles: list[str]) -> None:
    """labels arrive as JSON lists or comma lists; blanks and repeats drop."""
    assert labels.split_titles(value) == titles


@pytest.mark.parametrize(
    ("current", "replace", "add", "remove", "scoped", "expected"),
    [
        (["a"], None, ["b"], [], False, ["a", "b"]),
        (["a", "b"], None, [], ["a"], False, ["b"]),
        (["a", "b"], ["c"], [], [], False, ["c"]),
        (["a"], [], [], [], False, []),
        (["a"], ["c"], ["d"], ["c"], False, ["d"]),
        (["prio::low", "x"], None, ["prio::high"], [], True, ["x", "prio::high"]),
        (
            ["prio::low", "x"],
            None,
            ["prio::high"],
            [],
            False,
            ["prio::low", "x", "prio::high"],
        ),
        (["a::b::c"], None, ["a::b::d"], [], True, ["a::b::d"]),
        (["a::b::c"], None, ["a::e"], [], True, ["a::b::c", "a::e"]),
        ([], ["s::1", "s::2"], [], [], True, ["s::2"]),
    ],
)
def test_next_titles(
    current: list[str],
    replace: list[str] | None,
    add: list[str],
    remove: list[str],
    scoped: bool,
    expected: list[str],
) -> None:
    """labels replaces, add/remove edit, scoped labels evict their scope-mates."""
    assert labels.next_titles(current, replace, add, remove, scoped) == expected


@given(
    current=st.lists(st.sampled_from(["k::a", "k::b", "j::a", "plain"]), unique=True),
    add=st.lists(st.sampled_from(["k::a", "k::b", "j::c", "other"])),
)
@settings(max_examples=60, deadline=None)
def test_scoped_sets_keep_one_label_per_scope(
    current: list[str], add: list[str]
) -> None:
    """Starting from a valid set, adding keeps one label per scope, the last added."""
    valid = labels.apply_scoped([], current)
    result = labels.next_titles(valid, None, add, [], scoped=True)
    scopes = [labels.label_scope(title) for title in result if "::" in title]

    assert len(scopes) == len(set(scopes))
    for title in add:
        last = [t for t in add if labels.label_scope(t) == labels.label_scope(title)][
            -1
        ]
        assert last in result


@pytest.mark.parametrize(
    ("value", "color"),
    [
        ("#5843AD", "#5843AD"),
        ("#abc", "#abc"),
        ("red", "#ff0000"),
        ("nope", None),
        ("#12", None),
    ],
)
def test_normalise_color(value: str, color: str | None) -> None:
    """Hex codes and a few CSS names are colours; anything else is refused."""
    assert labels.normalise_color(value) == color


@pytest.mark.parametrize(
    ("color", "text"),
    [("#5843AD", "#FFFFFF"), ("#ffffff", "#1F1E24"), ("#6699cc", "#FFFFFF")],
)
def test_text_color_contrasts(color: str, text: str) -> None:
    """Label text is white on dark and dark on light backgrounds."""
    assert labels.text_color(color) == text


@pytest.mark.parametrize(
    ("title", "error"), [("ok", None), ("", "can't be blank"), ("a,b", "is invalid")]
)
def test_title_error(title: str, error: str | None) -> None:
    """Blank titles and commas (the list separator) are refused."""
    assert labels.title_error(title) == error


def rule(required: int, users: list[int] | None = None) -> ApprovalRule:
    """An approval rule for the tables below."""
    return ApprovalRule(
        mr_id=1, name="r", approvals_required=required, user_ids=users or []
    )


def test_rule_counts_only_eligible_approvers() -> None:
    """Approvals by users outside the rule do not count toward it."""
    state = rules.rule_state(rule(2, [5, 6]), {5, 6}, [5, 9])

    assert state.approved_by_ids == (5,)
    assert state.approvals_left == 1
    assert not state.approved
    assert rules.approvals_left([state]) == 1
    assert rules.approvals_required([state]) == 2


def test_approvals_left_sums_rules_and_never_goes_negative() -> None:
    """Missing approvals add up over rules; an over-approved rule counts zero."""
    states = [
        rules.rule_state(rule(1), {1, 2, 3}, [1, 2]),
        rules.rule_state(rule(2, [4]), {4}, []),
    ]

    assert [s.approvals_left for s in states] == [0, 2]
    assert rules.approvals_left(states) == 2
    assert rules.is_any_approver(states[0].rule)
    assert not rules.is_any_approver(states[1].rule)


@pytest.mark.parametrize(
    ("premium", "left_after", "action"),
    [
        (False, 0, "approved"),
        (False, 3, "approved"),
        (True, 0, "approved"),
        (True, 1, "approval"),
    ],
)
def test_approve_action(premium: bool, left_after: int, action: str) -> None:
    """CE always says approved; EE says approval while approvals are missing."""
    assert rules.approve_action(premium, left_after) == action


@pytest.mark.parametrize(
    ("premium", "before", "after", "action"),
    [
        (False, 0, 0, "unapproved"),
        (False, 0, 1, "unapproved"),
        (True, 0, 1, "unapproved"),
        (True, 0, 0, "unapproval"),
        (True, 1, 2, "unapproval"),
    ],
)
def test_unapprove_action(premium: bool, before: int, after: int, action: str) -> None:
    """EE says unapproved only when the MR stops being approved."""
    assert rules.unapprove_action(premium, before, after) == action
