"""Read-only views of a merge request's code: changes, diffs, commits, versions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import entities, gitdiff, http
from bot.sandbox.mr import core, service, versions, views
from bot.sandbox.mr.model import DIFF_VERSIONS, MergeRequest
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


async def list_versions(request: web.Request) -> web.Response:
    """GET .../versions: the merge request's diff versions, newest first."""
    state, _, mr = service.mr_of(request)
    return http.paginate(
        request, versions.versions_of(state, mr), versions.version_entity
    )


async def get_version(request: web.Request) -> web.Response:
    """GET .../versions/:version_id: one version with commits and diffs."""
    state, project, mr = service.mr_of(request)
    wanted = http.to_int(request.match_info["version_id"], "version_id")
    version = state.store.get(DIFF_VERSIONS, wanted)
    if version is None or version.mr_id != mr.id:
        raise http.api_error(404, "404 Not found")
    return web.json_response(versions.full_entity(state, project, version))


def setup(app: web.Application, mr_path: str) -> None:
    """Register the read routes."""
    app.router.add_get(mr_path + "/changes", get_changes)
    app.router.add_get(mr_path + "/diffs", list_diffs)
    app.router.add_get(mr_path + "/commits", list_commits)
    app.router.add_get(mr_path + "/versions", list_versions)
    app.router.add_get(mr_path + "/versions/{version_id}", get_version)
