"""Branches: list, get, create, delete (with GitLab's refusals)."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox import entities
from bot.sandbox.git import ZERO_SHA
from bot.sandbox.http import (
    api_error,
    current_user,
    find_project,
    forbidden,
    not_found,
    optional_user,
    paginate,
    params,
    project_in_url,
    require,
    state_of,
)
from bot.sandbox.protection import can_push, is_protected
from bot.sandbox.pushes import record_push
from bot.sandbox.records import DEVELOPER


def _render(request: web.Request, project, name: str, sha: str) -> dict:
    state = state_of(request)
    user = optional_user(request)
    info = state.repo(project).commit_info(sha)
    allowed = user is not None and can_push(state, user, project, name)
    return entities.branch(state, project, name, info, can_push=allowed)


async def list_branches(request: web.Request) -> web.Response:
    """GET /projects/:id/repository/branches[?search=]."""
    project = find_project(request, request.match_info["id"])
    branches = state_of(request).repo(project).branches()
    search = request.query.get("search", "").lower()
    if search:
        branches = [(n, s) for n, s in branches if search in n.lower()]
    return paginate(request, branches, lambda b: _render(request, project, *b))


async def get_branch(request: web.Request) -> web.Response:
    """GET /projects/:id/repository/branches/:branch."""
    project = find_project(request, request.match_info["id"])
    name = request.match_info["branch"]
    sha = state_of(request).repo(project).head(name)
    if sha is None:
        raise not_found("Branch")
    return web.json_response(_render(request, project, name, sha))


async def post_branch(request: web.Request) -> web.Response:
    """POST /projects/:id/repository/branches: create ``branch`` at ``ref``."""
    user = current_user(request)
    project = find_project(request, request.match_info["id"])
    state = state_of(request)
    values = await params(request)
    require(values, "branch", "ref")
    name, ref = str(values["branch"]), str(values["ref"])
    if not can_push(state, user, project, name):
        raise forbidden()
    repo = state.repo(project)
    if not repo.is_valid_ref_name(name):
        raise api_error(400, "Branch name is invalid")
    if repo.head(name) is not None:
        raise api_error(400, "Branch already exists")
    sha = repo.resolve(ref)
    if sha is None:
        raise api_error(400, f"Invalid reference name: {name}")
    if not repo.set_ref(f"refs/heads/{name}", sha, None):
        raise api_error(400, "Branch already exists")
    await record_push(state, project, user, name, ZERO_SHA, sha)
    return web.json_response(_render(request, project, name, sha), status=201)


async def delete_branch(request: web.Request) -> web.Response:
    """DELETE /projects/:id/repository/branches/:branch."""
    user = current_user(request)
    project = project_in_url(request, DEVELOPER)
    state = state_of(request)
    name = request.match_info["branch"]
    repo = state.repo(project)
    if not repo.is_valid_ref_name(name):
        raise api_error(400, "The branch refname is invalid")
    sha = repo.head(name)
    if sha is None:
        raise not_found("Branch")
    if name == project.default_branch:
        raise api_error(405, "Cannot remove HEAD branch")
    if is_protected(state, project, name):
        raise api_error(405, "Protected branch cant be removed")
    if not repo.delete_ref(f"refs/heads/{name}", sha):
        raise api_error(409, "409 Conflict")
    await record_push(state, project, user, name, sha, ZERO_SHA)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register the branch routes."""
    base = "/api/v4/projects/{id}/repository/branches"
    app.router.add_get(base, list_branches)
    app.router.add_post(base, post_branch)
    app.router.add_get(base + "/{branch}", get_branch)
    app.router.add_delete(base + "/{branch}", delete_branch)
