"""Commits: list (no totals, as GitLab), get, diff, and create with actions."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.sandbox import entities
from bot.sandbox.git import CommitInfo, Repository
from bot.sandbox.gitcommit import Action
from bot.sandbox.gitdiff import diff, numstat
from bot.sandbox.http import (
    bad_request,
    current_user,
    find_project,
    grape_error,
    not_found,
    page_window,
    paginate,
    paginate_window,
    params,
    state_of,
    to_bool,
)
from bot.sandbox.records import Project
from bot.sandbox.writes import CommitPlan, commit_actions

ACTION_KINDS = ("create", "update", "move", "delete", "chmod")


def render_commit(
    state: Any, project: Project, repo: Repository, info: CommitInfo, stats: bool
) -> dict[str, Any]:
    """Return a single commit: the list shape plus stats, status, project_id."""
    body = entities.commit(state, project, info)
    if stats:
        parent = info.parent_ids[0] if info.parent_ids else None
        additions, deletions = numstat(repo, parent, info.id)
        body["stats"] = {
            "additions": additions,
            "deletions": deletions,
            "total": additions + deletions,
        }
    body.update(status=None, project_id=project.id, last_pipeline=None)
    return body


def _since_until(query: Any) -> list[str]:
    args = []
    for name in ("since", "until"):
        if name in query:
            try:
                moment = datetime.fromisoformat(query[name].replace("Z", "+00:00"))
            except ValueError as error:
                raise grape_error(400, f"{name} is invalid") from error
            args.append(f"--{name}={moment.isoformat()}")
    return args


async def list_commits(request: web.Request) -> web.Response:
    """GET /projects/:id/repository/commits: newest first, one page."""
    project = find_project(request, request.match_info["id"])
    state = state_of(request)
    repo = state.repo(project)
    query = request.query
    ref = query.get("ref_name") or project.default_branch
    commit = None if repo.is_empty() else repo.resolve(ref)
    page, per_page = page_window(request)
    found: list[CommitInfo] = []
    if commit is not None:
        found = repo.log(
            commit,
            path=query.get("path") or None,
            max_count=per_page + 1,
            skip=(page - 1) * per_page,
            first_parent=to_bool(query.get("first_parent", False), "first_parent"),
            reverse=False,
            extra=_since_until(query),
        )
    with_stats = to_bool(query.get("with_stats", False), "with_stats")
    chunk = found[:per_page]
    return paginate_window(
        request,
        chunk,
        has_next=len(found) > per_page,
        render=lambda c: (
            render_commit(state, project, repo, c, with_stats)
            if with_stats
            else entities.commit(state, project, c)
        ),
    )


def _find_commit(request: web.Request) -> tuple[Any, Project, Repository, str]:
    project = find_project(request, request.match_info["id"])
    state = state_of(request)
    repo = state.repo(project)
    sha = repo.resolve(request.match_info["sha"])
    if sha is None:
        raise not_found("Commit")
    return state, project, repo, sha


async def get_commit(request: web.Request) -> web.Response:
    """GET /projects/:id/repository/commits/:sha (sha, branch or tag)."""
    state, project, repo, sha = _find_commit(request)
    stats = to_bool(request.query.get("stats", True), "stats")
    info = repo.commit_info(sha)
    return web.json_response(render_commit(state, project, repo, info, stats))


async def get_commit_diff(request: web.Request) -> web.Response:
    """GET /projects/:id/repository/commits/:sha/diff: the commit's changes."""
    _, _, repo, sha = _find_commit(request)
    info = repo.commit_info(sha)
    base = info.parent_ids[0] if info.parent_ids else _empty_tree(repo)
    return paginate(request, diff(repo, base, sha), lambda d: d)


def _empty_tree(repo: Repository) -> str:
    return repo.out(["hash-object", "-t", "tree", "--stdin"], input=b"").strip()


def _decode(content: Any, encoding: Any, index: int) -> bytes | None:
    if content is None:
        return None
    if encoding in (None, "", "text"):
        return str(content).encode()
    if encoding != "base64":
        raise bad_request(f"actions[{index}][encoding] does not have a valid value")
    try:
        return base64.b64decode(str(content), validate=True)
    except (binascii.Error, ValueError) as error:
        raise bad_request(f"actions[{index}][content] is not valid base64") from error


def parse_action(raw: Any, index: int) -> Action:
    """Validate one entry of ``actions``; GitLab's 400 texts on failure."""
    if not isinstance(raw, dict):
        raise bad_request(f"actions[{index}] is invalid")
    kind = raw.get("action")
    if kind not in ACTION_KINDS:
        raise bad_request(
            f"actions[{index}][action] must be one of: "
            "create, update, move, delete, chmod"
        )
    if not raw.get("file_path"):
        raise bad_request(f"actions[{index}][file_path] is required")
    if kind == "update" and raw.get("content") is None:
        raise bad_request(f"actions[{index}][content] is required for update action")
    if kind == "move" and not raw.get("previous_path"):
        raise bad_request(
            f"actions[{index}][previous_path] is required for move action"
        )
    content = _decode(raw.get("content"), raw.get("encoding"), index)
    if kind == "create" and content is None:
        content = b""
    mode = raw.get("execute_filemode")
    return Action(
        kind=kind,
        path=str(raw["file_path"]).strip("/"),
        content=content,
        previous_path=str(raw["previous_path"]).strip("/")
        if raw.get("previous_path")
        else None,
        last_commit_id=raw.get("last_commit_id") or None,
        execute_filemode=None
        if mode is None
        else to_bool(mode, f"actions[{index}][execute_filemode]"),
    )


def parse_plan(values: dict[str, Any]) -> CommitPlan:
    """Validate a create-commit request into a CommitPlan."""
    for name in ("branch", "commit_message"):
        if not values.get(name):
            raise bad_request(f"{name} is required")
    actions = values.get("actions")
    if not actions or not isinstance(actions, list):
        raise bad_request("actions is required")
    if values.get("start_branch") and values.get("start_sha"):
        raise bad_request("start_branch, start_sha are mutually exclusive")
    return CommitPlan(
        branch=str(values["branch"]),
        message=str(values["commit_message"]),
        actions=tuple(parse_action(raw, n) for n, raw in enumerate(actions)),
        start_branch=values.get("start_branch") or None,
        start_sha=values.get("start_sha") or None,
        force=to_bool(values.get("force", False), "force"),
        author_name=values.get("author_name") or None,
        author_email=values.get("author_email") or None,
    )


async def post_commit(request: web.Request) -> web.Response:
    """POST /projects/:id/repository/commits: one commit of several actions."""
    user = current_user(request)
    project = find_project(request, request.match_info["id"])
    state = state_of(request)
    values = await params(request)
    plan = parse_plan(values)
    sha = await commit_actions(state, project, user, plan)
    repo = state.repo(project)
    stats = to_bool(values.get("stats", True), "stats")
    body = render_commit(state, project, repo, repo.commit_info(sha), stats)
    return web.json_response(body, status=201)


def setup(app: web.Application) -> None:
    """Register the commit routes."""
    base = "/api/v4/projects/{id}/repository/commits"
    app.router.add_get(base, list_commits)
    app.router.add_post(base, post_commit)
    app.router.add_get(base + "/{sha}", get_commit)
    app.router.add_get(base + "/{sha}/diff", get_commit_diff)
