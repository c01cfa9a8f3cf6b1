"""Repository tree: the entries at a path, optionally recursive."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.http import find_project, not_found, paginate, state_of, to_bool


async def get_tree(request: web.Request) -> web.Response:
    """GET /projects/:id/repository/tree[?path=&ref=&recursive=]."""
    project = find_project(request, request.match_info["id"])
    repo = state_of(request).repo(project)
    commit = repo.resolve(request.query.get("ref") or project.default_branch)
    recursive = to_bool(request.query.get("recursive", False), "recursive")
    entries = None
    if commit is not None:
        entries = repo.tree(commit, request.query.get("path", ""), recursive)
    if entries is None:
        raise not_found("Tree")
    return paginate(
        request,
        entries,
        lambda e: {
            "id": e.id,
            "name": e.name,
            "type": e.type,
            "path": e.path,
            "mode": e.mode,
        },
    )


def setup(app: web.Application) -> None:
    """Register the tree route."""
    app.router.add_get("/api/v4/projects/{id}/repository/tree", get_tree)
