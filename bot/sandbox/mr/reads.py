"""Read-only views of a merge request's code: changes, diffs, commits."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import entities, gitdiff, http
from bot.sandbox.mr import core, service, views
from bot.sandbox.mr.model import MergeRequest
from bot.sandbox.records import Project


def mr_diffs(state: Any, project: Project, mr: MergeRequest) -> list[dict[str, Any]]:
    """The GitLab diff dictionaries of the MR's latest version."""
    if mr.sha is None or mr.base_sha is None:
        return []
    return gitdiff.diff(core.repository(state, project), mr.base_sha, mr.sha)


async def get_changes(request: web.Request) -> web.Response:
    """GET .../changes: the full entity plus ``changes`` (deprecated by GitLab)."""
    state, project, mr = service.mr_of(request)
    body = views.render(state, project, mr, http.optional_user(request))
    body["changes"] = mr_diffs(state, project, mr)
    body["overflow"] = False
    return web.json_response(body)


async def list_diffs(request: web.Request) -> web.Response:
    """GET .../diffs: the diff entries, paginated."""
    state, project, mr = service.mr_of(request)
    return http.paginate(request, mr_diffs(state, project, mr), lambda diff: diff)


async def list_commits(request: web.Request) -> web.Response:
    """GET .../commits: the MR's commits, newest first, paginated."""
    state, project, mr = service.mr_of(request)
    repo = core.repository(state, project)
    commits = []
    if mr.sha is not None:
        commits = (
            repo.log(mr.sha, exclude=mr.base_sha) if mr.base_sha else repo.log(mr.sha)
        )
    return http.paginate(
        request, commits, lambda info: entities.commit(state, project, info)
    )


def setup(app: web.Application, mr_path: str) -> None:
    """Register the read routes."""
    app.router.add_get(mr_path + "/changes", get_changes)
    app.router.add_get(mr_path + "/diffs", list_diffs)
    app.router.add_get(mr_path + "/commits", list_commits)
