"""Helpers shared by the merge-request contract tests (test_mr_*.py)."""

from __future__ import annotations

from typing import Any

import gitlab
import pytest

from bot.sandbox.records import Hook, Member, ProtectedBranch
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client, create_user

HOOK_SWITCHES = ("merge_requests_events", "note_events", "emoji_events")
# A closed loopback port: deliveries fail fast and the log keeps each body.
DEAD_HOOK_URL = "http://127.0.0.1:9/hook"


def write_file(
    project: Any, branch: str, path: str, content: str, start: str | None = None
) -> str:
    """Write ``path`` on ``branch`` (made from ``start``); return the new head."""
    data = {
        "file_path": path,
        "branch": branch,
        "content": content,
        "commit_message": f"edit {path}",
    }
    if start is not None:
        data["start_branch"] = start
    try:
        project.files.get(path, ref=branch if start is None else start)
        exists = True
    except gitlab.GitlabGetError:
        exists = False
    if exists:
        project.files.update(path, data)
    else:
        project.files.create(data)
    return project.files.get(path, ref=branch).commit_id


def open_mr(project: Any, branch: str = "feature", **extra: Any) -> Any:
    """A feature branch with one new file and a merge request for it."""
    write_file(
        project, branch, f"{branch}.txt", f"{branch}\n", start=project.default_branch
    )
    data = {
        "source_branch": branch,
        "target_branch": project.default_branch,
        "title": f"Add {branch}",
    }
    return project.mergerequests.create({**data, **extra})


def add_member(
    sandbox: SandboxThread, project_id: int, user_id: int, level: int
) -> None:
    """Give ``user_id`` direct ``level`` access to the project."""
    member = Member(0, "project", project_id, user_id, level)
    sandbox.call(lambda: sandbox.state.store.insert("members", member))


def protect(
    sandbox: SandboxThread, project_id: int, branch: str, merge_level: int
) -> None:
    """Protect ``branch`` with ``merge_level`` needed to merge."""
    rule = ProtectedBranch(0, project_id, branch, merge_access_level=merge_level)
    sandbox.call(lambda: sandbox.state.store.insert("protected_branches", rule))


def add_hook(sandbox: SandboxThread, project_id: int) -> None:
    """A project hook listening to MR, note and emoji events."""
    hook = Hook(
        0, project_id, DEAD_HOOK_URL, **{switch: True for switch in HOOK_SWITCHES}
    )
    sandbox.call(lambda: sandbox.state.store.insert("hooks", hook))


def hook_bodies(sandbox: SandboxThread, event: str) -> list[dict[str, Any]]:
    """Bodies of every delivered ``event`` (e.g. ``Merge Request Hook``), in order."""
    sandbox.drain_webhooks()
    deliveries = sandbox.call(lambda: list(sandbox.state.webhooks.deliveries))
    return [d["request_body"] for d in deliveries if d["event"] == event]


def user_client(
    sandbox: SandboxThread, gl: gitlab.Gitlab, name: str
) -> tuple[Any, gitlab.Gitlab]:
    """A new user and a client logged in as them."""
    user, token = create_user(gl, name)
    return user, client(sandbox, token)


def settle(project: Any, iid: int) -> Any:
    """Read the MR until the checking window after a change is over."""
    mr = project.mergerequests.get(iid)
    while mr.detailed_merge_status == "checking":
        mr = project.mergerequests.get(iid)
    return mr


def error_of(excinfo: pytest.ExceptionInfo) -> tuple[int, Any]:
    """(status, error message) of a python-gitlab exception."""
    return excinfo.value.response_code, excinfo.value.error_message


def same_shape(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Differences in keys and JSON types between a fixture and a body.

    None on either side matches any type (GitLab's nullable fields); lists
    are compared through their first element.
    """
    if expected is None or actual is None:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: object expected, got {type(actual).__name__}"]
        problems = [f"{path}.{key}: missing" for key in expected if key not in actual]
        for key in expected:
            if key in actual:
                problems += same_shape(expected[key], actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: array expected, got {type(actual).__name__}"]
        if expected and actual:
            return same_shape(expected[0], actual[0], f"{path}[0]")
        return []
    if isinstance(expected, bool) or isinstance(actual, bool):
        ok = isinstance(expected, bool) and isinstance(actual, bool)
    elif isinstance(expected, int | float):
        ok = isinstance(actual, int | float)
    else:
        ok = type(expected) is type(actual)
    return [] if ok else [f"{path}: {type(expected).__name__} expected, got {actual!r}"]
