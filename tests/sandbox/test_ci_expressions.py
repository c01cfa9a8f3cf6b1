"""Table tests of the ``rules:if`` expression parser (bot.sandbox.ci.expressions)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sandbox.ci.expressions import ExpressionError, evaluate, parse

VARIABLES = {
    "SOURCE": "merge_request_event",
    "TAG": "v1.4.2",
    "EMPTY": "",
    "BRANCH": "main",
    "DEFAULT": "main",
    "PATTERN": "/^v\\d+/",
    "TITLE": "Draft: bump",
}

TRUE_FALSE = [
    ("$TAG", True),
    ("$EMPTY", False),
    ("$UNDEFINED", False),
    ("${TAG}", True),
    ('$SOURCE == "merge_request_event"', True),
    ("$SOURCE == 'merge_request_event'", True),
    ('$SOURCE != "push"', True),
    ("$BRANCH == $DEFAULT", True),
    ("$UNDEFINED == null", True),
    ("$EMPTY == null", False),
    ('$EMPTY == ""', True),
    ('$UNDEFINED == ""', False),
    ("$TAG != null", True),
    ("$TAG =~ /^v\\d+\\.\\d+/", True),
    ("$TAG =~ /^V1/", False),
    ("$TAG =~ /^V1/i", True),
    ("$TAG !~ /^v/", False),
    ("$UNDEFINED =~ /.*/", False),
    ("$UNDEFINED !~ /x/", True),
    ("$TAG =~ $PATTERN", True),
    ("$TITLE =~ /^(\\[Draft\\]|\\(Draft\\)|Draft:)/", True),
    ('$TAG && $SOURCE == "push"', False),
    ('$TAG || $SOURCE == "push"', True),
    ('$EMPTY || $UNDEFINED || $BRANCH == "main"', True),
    ('$TAG && $EMPTY || $BRANCH == "main"', True),
    ('$TAG && ($EMPTY || $BRANCH == "dev")', False),
    ('($SOURCE == "push" || $SOURCE == "merge_request_event") && $TAG', True),
    ("$PATH_WITH_SLASH =~ /a\\/b/", False),
    ('"literal"', True),
    ('""', False),
    ("null", False),
]


@pytest.mark.parametrize(("text", "expected"), TRUE_FALSE)
def test_expression_value(text: str, expected: bool) -> None:
    """Each expression evaluates as GitLab's variable expressions do."""
    assert evaluate(text, VARIABLES) is expected


def test_escaped_slash_in_regex() -> None:
    """``\\/`` inside a regex literal matches a slash."""
    assert evaluate("$REF =~ /^release\\/\\d+$/", {"REF": "release/12"})


REFUSED = [
    ("", "the expression is empty"),
    ("$", "a variable name must follow '$' at 1"),
    ("${TAG", "'${' at position 1 is not closed"),
    ('$TAG == "open', "string at position 9 is not closed"),
    ("$TAG =~ /open", "regex at position 9 is not closed"),
    ("$TAG =~ /x/q", "unknown regex flag 'q' in /x/q"),
    ("$TAG =~ /(/", "invalid regex /(/"),
    ("($TAG", "ends too early"),
    ("$TAG)", "unexpected ')' at position 5"),
    ("$TAG $BRANCH", "unexpected 'BRANCH' at position 6"),
    ("$TAG == ", "ends too early"),
    ("&& $TAG", "unexpected '&&' at position 1"),
    ("$TAG = 'x'", "unexpected '=' at position 6"),
    ("($TAG == 'x' $BRANCH)", "expected ')' at position 14"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_invalid_expression_is_refused_with_its_position(
    text: str, message: str
) -> None:
    """Malformed expressions raise ExpressionError naming what and where."""
    with pytest.raises(ExpressionError) as raised:
        parse(text)
    assert message in str(raised.value)


NAMES = st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True)
VALUES = st.text(alphabet="abcXYZ019 -_./", max_size=12)


@settings(max_examples=60, deadline=None)
@given(name=NAMES, value=VALUES, other=VALUES)
def test_equality_agrees_with_python(name: str, value: str, other: str) -> None:
    """``$X == "v"`` holds exactly when the variable equals the quoted text."""
    quoted = other.replace("\\", "\\\\").replace('"', '\\"')
    variables = {name: value}
    assert evaluate(f'${name} == "{quoted}"', variables) is (value == other)
    assert evaluate(f'${name} != "{quoted}"', variables) is (value != other)
    assert evaluate(f"${name}", variables) is (value != "")


@settings(max_examples=60, deadline=None)
@given(a=st.booleans(), b=st.booleans(), c=st.booleans())
def test_and_binds_tighter_than_or(a: bool, b: bool, c: bool) -> None:
    """``A || B && C`` reads as ``A || (B && C)``, and parentheses regroup."""
    variables = {name: "x" for name, on in (("A", a), ("B", b), ("C", c)) if on}
    assert evaluate("$A || $B && $C", variables) is (a or (b and c))
    assert evaluate("($A || $B) && $C", variables) is ((a or b) and c)
