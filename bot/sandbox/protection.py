"""Protected branches: which rule covers a branch, and who may push to it."""

from __future__ import annotations

import fnmatch
from typing import Any

from bot.sandbox.http import access_level, api_error
from bot.sandbox.records import DEVELOPER, MAINTAINER, Project, ProtectedBranch, User

PUSH_REFUSED = "403 Forbidden - You are not allowed to push into this branch"


def rule_for(state: Any, project: Project, branch: str) -> ProtectedBranch | None:
    """Return the protection covering ``branch`` (exact name first, then wildcards)."""
    rules = state.store.find("protected_branches", project_id=project.id)
    for rule in rules:
        if rule.name == branch:
            return rule
    for rule in rules:
        if "*" in rule.name and fnmatch.fnmatchcase(branch, rule.name):
            return rule
    return None


def is_protected(state: Any, project: Project, branch: str) -> bool:
    """Tell whether ``branch`` is covered by a protected-branch rule."""
    return rule_for(state, project, branch) is not None


def can_push(state: Any, user: User, project: Project, branch: str) -> bool:
    """Tell whether ``user`` may push to ``branch`` (new or existing)."""
    level = access_level(state, user, project)
    rule = rule_for(state, project, branch)
    if rule is None:
        return level >= DEVELOPER
    # 0 means "No one"; administrators are not exempt, as on GitLab.
    return rule.push_access_level > 0 and level >= rule.push_access_level


def can_merge(state: Any, user: User, project: Project, branch: str) -> bool:
    """Tell whether ``user`` may merge into ``branch``."""
    level = access_level(state, user, project)
    rule = rule_for(state, project, branch)
    if rule is None:
        return level >= DEVELOPER
    return rule.merge_access_level > 0 and level >= rule.merge_access_level


def ensure_can_push(state: Any, user: User, project: Project, branch: str) -> None:
    """Answer 403 ``You are not allowed to push into this branch`` when refused."""
    if not can_push(state, user, project, branch):
        raise api_error(403, PUSH_REFUSED)


def protect_default_branch(state: Any, project: Project) -> None:
    """Protect the default branch on its first push (Maintainers push and merge)."""
    if rule_for(state, project, project.default_branch) is None:
        rule = ProtectedBranch(
            id=0,
            project_id=project.id,
            name=project.default_branch,
            push_access_level=MAINTAINER,
            merge_access_level=MAINTAINER,
        )
        state.store.insert("protected_branches", rule)
