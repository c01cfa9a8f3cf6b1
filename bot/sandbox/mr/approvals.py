"""Approvals of merge requests read from the store, and their entities.

Free tier: ``approvals_required`` is 0 and approvals never block.
Premium: the MR's approval rules decide (``rules``). The arithmetic lives in
``rules``; this module gathers the records and renders GitLab's entities.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.mr import core, rules
from bot.sandbox.mr.model import (
    APPROVAL_RULES,
    APPROVALS,
    Approval,
    ApprovalRule,
    MergeRequest,
)
from bot.sandbox.mr.rules import RuleState
from bot.sandbox.records import Project

JSON = dict[str, Any]


def approvals_of(state: Any, mr: MergeRequest) -> list[Approval]:
    """The approvals of ``mr``, oldest first."""
    return state.store.find(APPROVALS, mr_id=mr.id)


def approval_by(state: Any, mr: MergeRequest, user_id: int) -> Approval | None:
    """``user_id``'s approval of ``mr``, if any."""
    found = state.store.find(APPROVALS, mr_id=mr.id, user_id=user_id)
    return found[0] if found else None


def rules_of(state: Any, mr: MergeRequest) -> list[ApprovalRule]:
    """The approval rules of ``mr``."""
    return state.store.find(APPROVAL_RULES, mr_id=mr.id)


def author_may_approve(project: Project) -> bool:
    """The project setting "prevent approval by author", inverted (default off)."""
    return bool(getattr(project, "merge_requests_author_approval", False))


def eligible(
    state: Any, project: Project, mr: MergeRequest, rule: ApprovalRule
) -> set[int]:
    """Who may approve under ``rule``: its users and group members, or developers."""
    if rules.is_any_approver(rule):
        ids = core.developers(state, project)
    else:
        ids = set(rule.user_ids)
        for group_id in rule.group_ids:
            ids |= core.group_member_ids(state, group_id)

    if not author_may_approve(project):
        ids.discard(mr.author_id)
    return ids


def rule_states(state: Any, project: Project, mr: MergeRequest) -> list[RuleState]:
    """Every rule of ``mr`` with its eligible approvers and approvals (premium)."""
    if not core.is_premium(state):
        return []

    approver_ids = [approval.user_id for approval in approvals_of(state, mr)]
    return [
        rules.rule_state(rule, eligible(state, project, mr, rule), approver_ids)
        for rule in rules_of(state, mr)
    ]


def approvals_left(state: Any, project: Project, mr: MergeRequest) -> int:
    """Missing approvals (always 0 on free)."""
    return rules.approvals_left(rule_states(state, project, mr))


def is_eligible_approver(
    state: Any, project: Project, mr: MergeRequest, user: Any
) -> bool:
    """Whether the approval service accepts ``user`` (premium: author rule)."""
    if not core.is_premium(state) or user.id != mr.author_id:
        return True
    return author_may_approve(project)


def approved_by(state: Any, mr: MergeRequest) -> list[JSON]:
    """``approved_by`` entries: the user and when."""
    entries = []
    for approval in approvals_of(state, mr):
        record = core.user(state, approval.user_id)
        if record is not None:
            user = core.user_basic(state, record)
            entries.append({"user": user, "approved_at": approval.created_at})
    return entries


def render_approvals(
    state: Any, project: Project, mr: MergeRequest, merge_status: str, viewer: Any
) -> JSON:
    """The ``/approvals`` entity (also the answer of approve and unapprove)."""
    states = rule_states(state, project, mr)
    left = rules.approvals_left(states)
    has_approved = viewer is not None and approval_by(state, mr, viewer.id) is not None
    return {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": mr.project_id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "created_at": mr.created_at,
        "updated_at": mr.updated_at,
        "merge_status": merge_status,
        "approved": left == 0,
        "approvals_required": rules.approvals_required(states),
        "approvals_left": left,
        "require_password_to_approve": False,
        "approved_by": approved_by(state, mr),
        "suggested_approvers": [],
        "approvers": [],
        "approver_groups": [],
        "user_has_approved": has_approved,
        "user_can_approve": viewer is not None and not has_approved,
        "approval_rules_left": [
            {"id": s.rule.id, "name": s.rule.name, "rule_type": rule_type(s.rule)}
            for s in states
            if not s.approved
        ],
        "has_approval_rules": bool(states),
        "merge_request_approvers_available": core.is_premium(state),
        "multiple_approval_rules_available": core.is_premium(state),
        "invalid_approvers_rules": [],
    }


def rule_type(rule: ApprovalRule) -> str:
    """``any_approver`` for a rule naming nobody, else the stored type."""
    return "any_approver" if rules.is_any_approver(rule) else rule.rule_type


def render_rule(state: Any, rule_state: RuleState, with_approval: bool) -> JSON:
    """An approval rule entity; ``with_approval`` adds ``approved``/``approved_by``."""
    rule = rule_state.rule
    body = {
        "id": rule.id,
        "name": rule.name,
        "rule_type": rule_type(rule),
        "report_type": None,
        "eligible_approvers": core.users_basic(state, list(rule_state.eligible_ids)),
        "approvals_required": rule.approvals_required,
        "source_rule": None,
        "users": core.users_basic(state, rule.user_ids),
        "groups": [group_entity(state, group_id) for group_id in rule.group_ids],
        "contains_hidden_groups": False,
        "overridden": False,
    }
    if with_approval:
        body["approved_by"] = core.users_basic(state, list(rule_state.approved_by_ids))
        body["approved"] = rule_state.approved
    return body


def group_entity(state: Any, group_id: int) -> JSON | None:
    """A group as rules embed it."""
    return core.group_basic(state, group_id)


def render_approval_state(state: Any, project: Project, mr: MergeRequest) -> JSON:
    """The premium ``/approval_state`` entity."""
    return {
        "approval_rules_overwritten": bool(rules_of(state, mr)),
        "rules": [render_rule(state, s, True) for s in rule_states(state, project, mr)],
    }
