"""Repository files: get (JSON with base64 content), HEAD (X-Gitlab-*
headers), raw, and single-file create, update and delete commits."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from aiohttp import web

from bot.sandbox.git import FileInfo, Repository
from bot.sandbox.gitcommit import Action
from bot.sandbox.http import (
    api_error,
    current_user,
    find_project,
    grape_error,
    not_found,
    params,
    require,
    state_of,
    to_bool,
)
from bot.sandbox.records import Project
from bot.sandbox.writes import CommitPlan, commit_actions

UPDATE_CHANGED = (
    "You are attempting to update a file that has changed since you started editing it."
)
DELETE_CHANGED = "You are attempting to delete a file that has been previously updated."
HEADER_NAMES = {
    "blob_id": "X-Gitlab-Blob-Id",
    "commit_id": "X-Gitlab-Commit-Id",
    "content_sha256": "X-Gitlab-Content-Sha256",
    "encoding": "X-Gitlab-Encoding",
    "file_name": "X-Gitlab-File-Name",
    "file_path": "X-Gitlab-File-Path",
    "last_commit_id": "X-Gitlab-Last-Commit-Id",
    "ref": "X-Gitlab-Ref",
    "size": "X-Gitlab-Size",
    "execute_filemode": "X-Gitlab-Execute-Filemode",
}


def _locate(
    request: web.Request, ref: str | None
) -> tuple[Project, Repository, FileInfo, str]:
    project = find_project(request, request.match_info["id"])
    repo = state_of(request).repo(project)
    ref = ref or project.default_branch
    commit = repo.resolve(ref)
    if commit is None:
        raise not_found("Commit")
    path = request.match_info["file_path"]
    info = repo.file_info(commit, path)
    if info is None:
        raise not_found("File")
    return project, repo, info, ref


def _metadata(
    repo: Repository, info: FileInfo, ref: str, content: bytes
) -> dict[str, Any]:
    return {
        "file_name": info.path.rsplit("/", 1)[-1],
        "file_path": info.path,
        "size": info.size,
        "encoding": "base64",
        "content_sha256": hashlib.sha256(content).hexdigest(),
        "ref": ref,
        "blob_id": info.blob_id,
        "commit_id": info.commit_id,
        "last_commit_id": repo.last_commit_for_path(info.commit_id, info.path),
        "execute_filemode": info.mode == "100755",
    }


def _headers(metadata: dict[str, Any]) -> dict[str, str]:
    return {
        header: str(metadata[key]).lower()
        if isinstance(metadata[key], bool)
        else str(metadata[key])
        for key, header in HEADER_NAMES.items()
    }


async def get_file(request: web.Request) -> web.StreamResponse:
    """GET/HEAD /projects/:id/repository/files/:file_path?ref=REF."""
    if "ref" not in request.query or not request.query["ref"]:
        raise grape_error(400, "ref is missing")
    _, repo, info, ref = _locate(request, request.query["ref"])
    content = repo.read_blob(info.blob_id)
    metadata = _metadata(repo, info, ref, content)
    if request.method == "HEAD":
        return web.Response(status=200, headers=_headers(metadata))
    body = {**metadata, "content": base64.b64encode(content).decode()}
    order = ["file_name", "file_path", "size", "encoding", "content"]
    ordered = {key: body[key] for key in order} | body
    return web.json_response(ordered, headers=_headers(metadata))


async def get_raw(request: web.Request) -> web.Response:
    """GET /projects/:id/repository/files/:file_path/raw[?ref=REF]."""
    _, repo, info, ref = _locate(request, request.query.get("ref") or None)
    content = repo.read_blob(info.blob_id)
    headers = _headers(_metadata(repo, info, ref, content))
    headers["Content-Disposition"] = (
        f'inline; filename="{info.path.rsplit("/", 1)[-1]}"'
    )
    return web.Response(
        body=content, content_type="text/plain", charset="utf-8", headers=headers
    )


def _content(values: dict[str, Any]) -> bytes:
    content = values.get("content")
    if content is None:
        raise grape_error(400, "content is missing")
    encoding = values.get("encoding") or "text"
    if encoding not in ("text", "base64"):
        raise grape_error(400, "encoding does not have a valid value")
    if encoding == "base64":
        try:
            return base64.b64decode(str(content), validate=True)
        except (binascii.Error, ValueError) as error:
            raise api_error(
                400, "400 Bad request - content is not valid base64"
            ) from error
    return str(content).encode()


async def _write(request: web.Request, kind: str) -> web.Response:
    user = current_user(request)
    project = find_project(request, request.match_info["id"])
    values = await params(request)
    require(values, "branch", "commit_message")
    path = request.match_info["file_path"]
    content = _content(values) if kind != "delete" else None
    mode = values.get("execute_filemode")
    action = Action(
        kind,
        path,
        content,
        last_commit_id=values.get("last_commit_id") or None,
        execute_filemode=to_bool(mode, "execute_filemode")
        if mode is not None
        else None,
    )
    plan = CommitPlan(
        branch=str(values["branch"]),
        message=str(values["commit_message"]),
        actions=(action,),
        start_branch=values.get("start_branch") or None,
        author_name=values.get("author_name"),
        author_email=values.get("author_email"),
        changed_message=DELETE_CHANGED if kind == "delete" else UPDATE_CHANGED,
    )
    await commit_actions(state_of(request), project, user, plan)
    if kind == "delete":
        return web.Response(status=204)
    body = {"file_path": path, "branch": plan.branch}
    return web.json_response(body, status=201 if kind == "create" else 200)


async def post_file(request: web.Request) -> web.Response:
    """POST /projects/:id/repository/files/:file_path: create a file."""
    return await _write(request, "create")


async def put_file(request: web.Request) -> web.Response:
    """PUT /projects/:id/repository/files/:file_path: update a file."""
    return await _write(request, "update")


async def delete_file(request: web.Request) -> web.Response:
    """DELETE /projects/:id/repository/files/:file_path: delete a file."""
    return await _write(request, "delete")


def setup(app: web.Application) -> None:
    """Register the repository file routes."""
    path = "/api/v4/projects/{id}/repository/files/{file_path}"
    app.router.add_get(path, get_file)  # also answers HEAD
    app.router.add_get(path + "/raw", get_raw)
    app.router.add_post(path, post_file)
    app.router.add_put(path, put_file)
    app.router.add_delete(path, delete_file)
