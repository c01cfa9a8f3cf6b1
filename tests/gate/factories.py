"""A merge request that is ready to merge, and a way to spoil one part of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.gate import (
    Approver,
    GateInput,
    GatePolicy,
    JobState,
    MergeRequestState,
    PipelineState,
)

HEAD = "def4567890abcdef1234567890abcdef12345678"
OLD = "abc1234567890abcdef1234567890abcdef12345"
BOT_ID = 99
NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
PUSHED = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
APPROVED = datetime(2024, 5, 6, 11, 15, tzinfo=UTC)  # after PUSHED

ALICE = Approver(
    31, "alice", 40, ("platform/sre",), datetime(2024, 5, 6, 11, 0, tzinfo=UTC)
)
CAROL = Approver(33, "carol", 40, ("platform", "platform/sre"),
                 datetime(2024, 5, 6, 11, 30, tzinfo=UTC))  # fmt: skip


def ready(**changes: Any) -> GateInput:
    """Return a production merge request on which every gate condition holds.

    ``changes`` replace fields; ``part__field`` replaces a field of ``mr``,
    ``pipeline`` or ``policy``.
    """
    state = GateInput(
        mr=MergeRequestState(
            iid=4, state="opened", draft=False, sha=HEAD,
            detailed_merge_status="mergeable", labels=("gitops-bot", "env::production"),
        ),
        pipeline=PipelineState(
            id=7, sha=HEAD, status="success", ref="refs/merge-requests/4/head",
        ),
        jobs=(
            JobState("lint", "success", id=1),
            JobState("integration-test", "success", id=2),
        ),
        approvers=(ALICE, CAROL),
        bot_user_id=BOT_ID,
        requester_username="dave",
        policy=GatePolicy(
            environment="production", required_approvals=2,
            eligible_groups=("platform/sre",), min_access_level=40,
            required_jobs=("integration-test",),
        ),
        now=NOW,
        head_pushed_at=PUSHED,
        pipeline_must_succeed=True,
    )  # fmt: skip
    return apply(state, **changes)


def apply(state: GateInput, **changes: Any) -> GateInput:
    """Return ``state`` with plain and ``part__field`` changes applied."""
    nested: dict[str, dict[str, Any]] = {}
    plain: dict[str, Any] = {}
    for key, value in changes.items():
        part, _, field = key.partition("__")
        if field:
            nested.setdefault(part, {})[field] = value
        else:
            plain[key] = value

    for part, fields in nested.items():
        plain[part] = replace(plain.get(part, getattr(state, part)), **fields)
    return replace(state, **plain)
