"""Which approvals count for an environment, and how to say why one does not.

Only eligible approvers count, on both GitLab tiers (Free has no approval
rules, so the bot is the only judge there): never the bot itself, never the
requester unless the environment counts them, only the environment's users or
members of its groups (when it lists any), only at or above its minimum access
level, and only approvals given after the head was pushed (an approval
GitLab gives no time for cannot show that, so it does not count).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.chatops.access import access_level_name
from bot.gate.model import Approver, GateInput, Reason


@dataclass(frozen=True)
class ApprovalCount:
    """The approvals that count, and a sentence for each one that does not."""

    counted: tuple[Approver, ...]
    excuses: tuple[str, ...]


def count_approvals(state: GateInput) -> ApprovalCount:
    """Split the approvers into those who count and those who do not, with why."""
    counted: list[Approver] = []
    excuses: list[str] = []
    seen: set[int] = set()
    for approver in state.approvers:
        if approver.user_id in seen:
            continue
        seen.add(approver.user_id)

        why = ineligibility(approver, state)
        if why is None:
            counted.append(approver)
        else:
            excuses.append(f"@{approver.username}'s approval does not count: {why}")
    return ApprovalCount(tuple(counted), tuple(excuses))


def ineligibility(approver: Approver, state: GateInput) -> str | None:
    """Return why an approval does not count, or None when it does."""
    policy = state.policy
    if approver.user_id == state.bot_user_id:
        return "it is the bot's own"
    if _is_requester(approver, state) and not policy.count_requester:
        return "they requested this deploy"
    if approver.approved_at is None:
        return "GitLab gave no approval time, so it may predate the head"
    if _is_stale(approver, state):
        return f"given before head {state.mr.sha[:8]} was pushed"
    if not _in_scope(approver, state):
        return f"not in {eligible_scope(state)}"
    if approver.access_level < policy.min_access_level:
        has = access_level_name(approver.access_level)
        return f"{has} access, {access_level_name(policy.min_access_level)} needed"
    return None


def approval_reasons(state: GateInput) -> tuple[Reason, ...]:
    """Return ``approvals_missing`` when fewer eligible approvals than required."""
    required = state.policy.required_approvals
    count = count_approvals(state)
    if len(count.counted) >= required:
        return ()

    parts = [
        f"{len(count.counted)} of {required} approvals from {eligible_scope(state)}"
    ]
    parts += count.excuses
    if state.head_pushed_at is not None:
        pushed = state.head_pushed_at.strftime("%Y-%m-%d %H:%M %Z").strip()
        parts.append(
            f"approvals reset when the branch changes; head {state.mr.sha[:8]} "
            f"was pushed {pushed}"
        )
    return (Reason("approvals_missing", "; ".join(parts)),)


def eligible_scope(state: GateInput) -> str:
    """Name who may approve: groups and users, or anyone with enough access."""
    policy = state.policy
    names = [*policy.eligible_groups, *(f"@{user}" for user in policy.eligible_users)]
    if names:
        return " or ".join(names)
    return f"members with {access_level_name(policy.min_access_level)} access"


def _is_requester(approver: Approver, state: GateInput) -> bool:
    """Whether the approver is the user who requested the deploy."""
    requester = state.requester_username
    return requester is not None and approver.username.lower() == requester.lower()


def _is_stale(approver: Approver, state: GateInput) -> bool:
    """Whether the approval predates the push of the current head (or may: an
    approval without a time counts as stale)."""
    pushed, approved = state.head_pushed_at, approver.approved_at
    if approved is None:
        return True
    return pushed is not None and approved < pushed


def _in_scope(approver: Approver, state: GateInput) -> bool:
    """Whether the approver is one of the listed users or in a listed group."""
    policy = state.policy
    if not policy.eligible_groups and not policy.eligible_users:
        return True

    users = {user.lower() for user in policy.eligible_users}
    groups = {group.lower() for group in policy.eligible_groups}
    return approver.username.lower() in users or any(
        group.lower() in groups for group in approver.groups
    )
