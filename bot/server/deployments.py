"""The deploy API: ``POST /api/v1/deployments`` and the deployment status.

Cheap refusals come first and touch nothing: declared size (413), content
type (415), credentials (401), body size and JSON (413, 400), every
invalid field at once (400), policy (403, 404). Only then the deploy flow
runs; its answer comes once the commit and merge request exist in GitLab:
201 opened, 200 updated or unchanged; a dry run answers 200 with status
``dry_run`` and what it ``would`` do. Errors are mapped by the server's
error middleware from their ``http_status``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from bot import deploy, policy
from bot.config import Config
from bot.gitlab import GitLab
from bot.jobs import result_json
from bot.manifests import find_current
from bot.record import Source, parse_marker
from bot.server import keys
from bot.server.auth import Caller
from bot.server.deploy_body import DeployBody, parse_deploy_body
from bot.server.edge import (
    decode_json,
    ensure_declared_size,
    ensure_json_content,
    read_limited,
)
from bot.server.metrics import Metrics


class TimedLocks(deploy.KeyedLocks):
    """The deploy flow's per-key locks, reporting how long each wait took."""

    def __init__(
        self, metrics: Metrics, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Record waits in ``metrics.lock_waits``, labelled ``app/environment``."""
        super().__init__()
        self._metrics = metrics
        self._clock = clock

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Hold ``key`` like ``KeyedLocks.hold``, timing the wait for it."""
        started = self._clock()
        async with super().hold(key):
            label = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
            self._metrics.lock_waits.labels(label).observe(self._clock() - started)
            yield


async def post_deployment(request: web.Request) -> web.Response:
    """Open or update the merge request for (app, environment)."""
    app = request.app
    metrics = app[keys.METRICS]
    try:
        caller, body = await _read_request(request)
        result = await deploy.deploy(
            _deploy_request(body, caller),
            config=app[keys.CONFIG],
            gitlab=app[keys.GITLAB],
            locks=app[keys.LOCKS],
        )
    except Exception as error:
        status = getattr(error, "http_status", 500)
        metrics.deploy_requests.labels(outcome=f"refused_{status}").inc()
        raise

    answer = result_json(result, app[keys.CONFIG].gitlab.target_branch)
    metrics.deploy_requests.labels(outcome=answer["status"]).inc()
    status = 201 if answer["status"] == "opened" else 200
    return web.json_response(answer, status=status)


async def _read_request(request: web.Request) -> tuple[Caller, DeployBody]:
    limit = request.app[keys.CONFIG].server.max_body_bytes
    ensure_declared_size(request, limit)
    ensure_json_content(request)
    caller = await request.app[keys.AUTHENTICATOR].authenticate(request.headers)

    body = parse_deploy_body(decode_json(await read_limited(request, limit)))
    claimed = body.source.project
    if claimed is not None and claimed.casefold() != caller.project_path.casefold():
        raise policy.NotAllowed(
            f"source.project {claimed} is not the authenticated project "
            f"{caller.project_path}; the project comes from the credentials"
        )
    return caller, body


def _deploy_request(body: DeployBody, caller: Caller) -> deploy.DeployRequest:
    source = body.source
    return deploy.DeployRequest(
        app=body.app,
        environment=body.environment,
        tag=body.tag,
        digest=body.digest,
        source=Source(caller.project_path, source.sha, source.ref, source.pipeline_url),
        force=body.force,
        dry_run=body.dry_run,
        # The person behind the pipeline, not the project: their own
        # approval must not count (None for a static token).
        requested_by=caller.user,
    )


async def get_deployment(request: web.Request) -> web.Response:
    """Answer the tag on the target branch and the open merge request."""
    app_name = request.match_info["app"]
    environment = request.match_info["environment"]
    policy.validate_name("app", app_name)
    policy.validate_name("environment", environment)
    caller = await request.app[keys.AUTHENTICATOR].authenticate(request.headers)
    config = request.app[keys.CONFIG]
    policy.authorise(config, caller.project_path, app_name, environment)

    status = await fetch_status(config, request.app[keys.GITLAB], app_name, environment)
    return web.json_response(status)


async def fetch_status(
    config: Config, gitlab: GitLab, app: str, environment: str
) -> dict[str, Any]:
    """Read what (app, environment) runs on the target and its open bot MR."""
    wanted = deploy.DeployRequest(app=app, environment=environment)
    snapshot = await deploy.fetch_snapshot(config, gitlab, wanted)
    path, target = deploy.targets(config, app, environment)[0]
    manifest = snapshot.files[0]
    open_mrs = sorted(snapshot.merge_requests, key=lambda mr: mr.iid)
    if not open_mrs:
        # The file and the MR list are read side by side: a merge landing
        # between them would show no MR and the old tag. Read the file again
        # after the listing, so "no MR" always comes with the merged tag.
        manifest = await gitlab.fetch_file(path, config.gitlab.target_branch)
    current = find_current(manifest.content, path, target)

    return {
        "app": app,
        "environment": environment,
        "target_branch": config.gitlab.target_branch,
        "target_sha": manifest.commit_id,
        "tag": current[0].tag if current else None,
        "digest": current[0].digest if current else None,
        "merge_request": _merge_request_json(open_mrs[0]) if open_mrs else None,
    }


def _merge_request_json(mr: Any) -> dict[str, Any]:
    record = parse_marker(mr.description)
    return {
        "iid": mr.iid,
        "web_url": mr.web_url,
        "state": mr.state,
        "draft": mr.draft,
        "sha": mr.sha,
        "detailed_merge_status": mr.detailed_merge_status,
        "labels": list(mr.labels),
        "tag": record.tag if record else None,
        "digest": record.digest if record else None,
    }
