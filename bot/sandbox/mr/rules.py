"""Approval arithmetic of merge requests (pure).

Free tier: nothing is required, approvals never block. Premium: each rule
needs ``approvals_required`` approvals from its eligible approvers, and the
merge request's ``approvals_left`` is the sum over its rules
(``ApprovalState#approvals_left``). A rule with neither users nor groups is
an "any approver" rule: every eligible project member counts.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.sandbox.mr.model import ApprovalRule


@dataclass(frozen=True)
class RuleState:
    """One rule with who may approve under it and who did."""

    rule: ApprovalRule
    eligible_ids: tuple[int, ...]
    approved_by_ids: tuple[int, ...]

    @property
    def approvals_left(self) -> int:
        """How many more eligible approvals the rule needs."""
        return max(0, self.rule.approvals_required - len(self.approved_by_ids))

    @property
    def approved(self) -> bool:
        """Whether the rule is satisfied."""
        return self.approvals_left == 0


def is_any_approver(rule: ApprovalRule) -> bool:
    """Whether ``rule`` names nobody, so any eligible member counts."""
    return not rule.user_ids and not rule.group_ids


def rule_state(
    rule: ApprovalRule, eligible_ids: Collection[int], approver_ids: Sequence[int]
) -> RuleState:
    """Combine a rule, its eligible approvers and the MR's approvers."""
    approved_by = tuple(user for user in approver_ids if user in eligible_ids)
    return RuleState(rule, tuple(sorted(eligible_ids)), approved_by)


def approvals_left(states: Sequence[RuleState]) -> int:
    """The merge request's missing approvals: the sum over its rules."""
    return sum(state.approvals_left for state in states)


def approvals_required(states: Sequence[RuleState]) -> int:
    """The merge request's required approvals: the sum over its rules."""
    return sum(state.rule.approvals_required for state in states)


def approve_action(premium: bool, left_after: int) -> str:
    """Hook action of an approval: CE always approved; EE approval until done."""
    if premium and left_after > 0:
        return "approval"
    return "approved"


def unapprove_action(premium: bool, left_before: int, left_after: int) -> str:
    """Hook action of a revoked approval.

    CE always sends ``unapproved``; EE sends it only when the merge request
    goes from approved to not approved, else ``unapproval``.
    """
    if not premium:
        return "unapproved"
    if left_before == 0 and left_after > 0:
        return "unapproved"
    return "unapproval"
