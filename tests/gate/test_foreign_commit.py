"""A head the bot did not write is never merged: the gate regenerates."""

from __future__ import annotations

from typing import Any

import pytest

from bot.gate import Merge, Regenerate
from bot.gate.decide import decide
from tests.gate.factories import HEAD, OLD, ready


@pytest.mark.parametrize(
    ("changes", "regenerates"),
    [
        ({"mr__recorded_commit": HEAD}, False),
        ({"mr__recorded_commit": None}, False),  # a record from before commits
        ({"mr__recorded_commit": OLD}, True),
        ({"mr__recorded_commit": OLD, "mr__draft": True}, True),
        ({"mr__recorded_commit": OLD, "pipeline__status": "failed"}, True),
        ({"mr__recorded_commit": OLD, "mr__labels": ("gitops::hold",)}, True),
    ],
)
def test_foreign_head_regenerates_before_anything_else(
    changes: dict[str, Any], regenerates: bool
):
    """A ready MR whose head is not the recorded commit is rebuilt, not merged
    (before a failure report, draft or hold); the recorded commit or none
    (an old record) leaves today's decision."""
    decision = decide(ready(**changes))

    if not regenerates:
        assert isinstance(decision, Merge) or decision.reasons
        assert "foreign_commit" not in {r.code for r in decision.reasons}
        return
    assert isinstance(decision, Regenerate)
    assert decision.reason.code == "foreign_commit"
    assert decision.reasons[0] == decision.reason
    assert f"a commit not written by the bot (`{HEAD[:8]}`)" in decision.reason.text


def test_recorded_head_merges():
    """The head the bot recorded, everything else ready: merged at that SHA."""
    assert decide(ready(mr__recorded_commit=HEAD)) == Merge(HEAD)
