"""Compare two refs: commits between them and the diff (merge-base by default)."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox import entities
from bot.sandbox.gitdiff import diff
from bot.sandbox.http import (
    find_project,
    not_found,
    project_path,
    require,
    state_of,
    to_bool,
)


async def get_compare(request: web.Request) -> web.Response:
    """GET /projects/:id/repository/compare?from=&to=[&straight=]."""
    project = find_project(request, request.match_info["id"])
    state = state_of(request)
    query = dict(request.query)
    require(query, "from", "to")
    repo = state.repo(project)
    start, end = repo.resolve(query["from"]), repo.resolve(query["to"])
    if start is None or end is None:
        raise not_found("Ref")
    straight = to_bool(query.get("straight", False), "straight")
    base = start if straight else (repo.merge_base(start, end) or start)
    commits = repo.log(end, exclude=start, reverse=True)
    latest = entities.commit(state, project, repo.commit_info(end)) if commits else None
    path = project_path(state, project)
    body = {
        "commit": latest,
        "commits": [entities.commit(state, project, c) for c in commits],
        "diffs": diff(repo, base, end),
        "compare_timeout": False,
        "compare_same_ref": start == end,
        "web_url": f"{state.base_url}/{path}/-/compare/{start}...{end}",
    }
    return web.json_response(body)


def setup(app: web.Application) -> None:
    """Register the compare route."""
    app.router.add_get("/api/v4/projects/{id}/repository/compare", get_compare)
