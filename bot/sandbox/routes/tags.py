"""Tags: list, get, create (lightweight or annotated), delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.sandbox import entities
from bot.sandbox.git import Signature
from bot.sandbox.http import (
    api_error,
    current_user,
    find_project,
    git_time,
    grape_error,
    not_found,
    paginate,
    params,
    project_in_url,
    require,
    state_of,
)
from bot.sandbox.pushes import record_tag_push
from bot.sandbox.records import DEVELOPER, MAINTAINER


def _render(state: Any, project: Any, name: str, sha: str) -> dict[str, Any]:
    repo = state.repo(project)
    info = repo.commit_info(sha)
    message = repo.tag_message(name)
    target = repo.tag_object(name) or ""
    return {
        "name": name,
        "message": message or "",
        "target": target,
        "commit": entities.commit(state, project, info),
        "release": None,
        "protected": False,
        "created_at": git_time(info.committed_date) if message is not None else None,
    }


async def list_tags(request: web.Request) -> web.Response:
    """GET /projects/:id/repository/tags (order_by name|updated, sort)."""
    project = find_project(request, request.match_info["id"])
    state = state_of(request)
    repo = state.repo(project)
    tags = repo.tags()
    order_by = request.query.get("order_by", "updated")
    if order_by not in ("name", "updated", "version"):
        raise grape_error(400, "order_by does not have a valid value")
    if order_by == "updated":
        dated = {sha: repo.commit_info(sha).committed_date for _, sha in tags}
        tags.sort(key=lambda tag: (dated[tag[1]], tag[0]))
    descending = request.query.get("sort", "desc") != "asc"
    if descending:
        tags.reverse()
    if "search" in request.query:
        tags = [t for t in tags if request.query["search"] in t[0]]
    return paginate(request, tags, lambda t: _render(state, project, *t))


async def get_tag(request: web.Request) -> web.Response:
    """GET /projects/:id/repository/tags/:tag_name."""
    project = find_project(request, request.match_info["id"])
    state = state_of(request)
    name = request.match_info["tag_name"]
    sha = state.repo(project).tag_target(name)
    if sha is None:
        raise not_found("Tag")
    return web.json_response(_render(state, project, name, sha))


async def post_tag(request: web.Request) -> web.Response:
    """POST /projects/:id/repository/tags: ``tag_name`` at ``ref``."""
    user = current_user(request)
    project = project_in_url(request, DEVELOPER)
    state = state_of(request)
    values = await params(request)
    require(values, "tag_name", "ref")
    name, ref = str(values["tag_name"]), str(values["ref"])
    repo = state.repo(project)
    if not repo.is_valid_ref_name(name):
        raise api_error(400, "Tag name invalid")
    if repo.tag_target(name) is not None:
        raise api_error(400, f"Tag {name} already exists")
    sha = repo.resolve(ref)
    if sha is None:
        raise api_error(400, f"Target {ref} is invalid")
    tagger = Signature(user.name, user.email, datetime.now(UTC))
    if not repo.create_tag(name, sha, str(values.get("message") or ""), tagger):
        raise api_error(400, f"Tag {name} already exists")
    await record_tag_push(state, project, user, name, sha)
    return web.json_response(_render(state, project, name, sha), status=201)


async def delete_tag(request: web.Request) -> web.Response:
    """DELETE /projects/:id/repository/tags/:tag_name (Maintainer)."""
    project = project_in_url(request, MAINTAINER)
    repo = state_of(request).repo(project)
    name = request.match_info["tag_name"]
    if repo.tag_target(name) is None:
        raise not_found("Tag")
    target = repo.tag_object(name) or ""
    repo.delete_ref(f"refs/tags/{name}", target)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register the tag routes."""
    base = "/api/v4/projects/{id}/repository/tags"
    app.router.add_get(base, list_tags)
    app.router.add_post(base, post_tag)
    app.router.add_get(base + "/{tag_name}", get_tag)
    app.router.add_delete(base + "/{tag_name}", delete_tag)
