"""``bot.server.edge.decode_json``: strict JSON for the deploy API and webhooks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.server.edge import MAX_NESTING, decode_json

TOO_DEEP = "body nests arrays and objects deeper than 64 levels"


def nested(levels: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    """``levels`` arrays (or objects) inside each other, under key ``app``."""
    return b'{"app":' + opener * levels + closer * levels + b"}"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (nested(30_000), TOO_DEEP),
        (nested(30_000, b'{"a":', b"}"), TOO_DEEP),
        (nested(MAX_NESTING), TOO_DEEP),
        (
            b'{"app": "my-app", "environment": "staging", "app": "web"}',
            "body has the key 'app' twice in one object",
        ),
        (
            b'{"source": {"sha": "a", "sha": "b"}}',
            "body has the key 'sha' twice in one object",
        ),
        (b'[{"k": 1}, {"k": 2, "k": 2}]', "body has the key 'k' twice in one object"),
        (b'{"app": "web",', "body is not valid JSON: Expecting property name"),
        (b"\xff\xfe", "body is not valid JSON: not UTF-8"),
        ("{}".encode("utf-16"), "body is not valid JSON: not UTF-8"),
    ],
)
def test_refusals_name_the_problem(raw: bytes, message: str) -> None:
    """Deep nesting, a repeated key and invalid JSON are InvalidInput (400)."""
    with pytest.raises(InvalidInput) as refused:
        decode_json(raw)
    assert str(refused.value).startswith(message)
    assert refused.value.http_status == 400


def test_nesting_up_to_the_limit_is_accepted() -> None:
    """``MAX_NESTING`` levels counting the outer object decode unchanged."""
    raw = nested(MAX_NESTING - 1)
    assert decode_json(raw) == json.loads(raw)


def test_same_key_in_sibling_objects_is_accepted() -> None:
    """Only a key twice in one object is refused, not in different objects."""
    raw = b'{"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 3}, {"k": 4}]}'
    assert decode_json(raw) == json.loads(raw)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_any_shallow_document_round_trips(value: Any) -> None:
    """Every JSON document without repeated keys decodes as ``json.loads`` does."""
    assert decode_json(json.dumps(value).encode()) == value
