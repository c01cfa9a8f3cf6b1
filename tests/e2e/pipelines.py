"""Merge request pipelines for the end-to-end tests, until the sandbox runs them.

A sandbox route module (``setup(app)``, added to ``ROUTE_MODULES`` by the
fixture): ``head_pipeline`` of merge requests, the jobs and retry routes
with GitLab's shapes, and Pipeline Hook deliveries. A test decides each
outcome with ``finish``.

TODO: replace with bot/sandbox/ci (issue 4) once it serves these routes;
then ``finish`` becomes "set the job's outcome and let the pipeline run".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.http import STATE_KEY, iso

_ids = itertools.count(9000)


@dataclass
class FakePipeline:
    """One merge request pipeline and its jobs (name -> status)."""

    id: int
    project_id: int
    iid: int
    sha: str
    status: str
    jobs: dict[str, str] = field(default_factory=dict)
    job_ids: dict[str, int] = field(default_factory=dict)
    created_at: str = field(default_factory=iso)

    def entity(self) -> dict[str, Any]:
        """GitLab's pipeline entity."""
        return {
            "id": self.id, "iid": self.id, "project_id": self.project_id,
            "sha": self.sha, "ref": f"refs/merge-requests/{self.iid}/head",
            "status": self.status, "source": "merge_request_event",
            "created_at": self.created_at, "updated_at": iso(),
        }  # fmt: skip


class Pipelines:
    """Every pipeline of the sandbox, newest last."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.rows: list[FakePipeline] = []

    def head(self, project: Any, mr: Any) -> dict[str, Any] | None:
        """GitLab's ``head_pipeline``: the newest pipeline of the head SHA."""
        found = [p for p in self.rows if p.iid == mr.iid and p.sha == mr.sha]
        return found[-1].entity() if found else None

    async def finish(
        self, project: Any, iid: int, sha: str, status: str, jobs: dict[str, str]
    ) -> FakePipeline:
        """Record a finished pipeline for ``sha`` and send its Pipeline Hook."""
        pipeline = FakePipeline(next(_ids), project.id, iid, sha, status, dict(jobs))
        pipeline.job_ids = {name: next(_ids) for name in jobs}
        self.rows.append(pipeline)
        await self.emit(project, pipeline)
        return pipeline

    async def emit(self, project: Any, pipeline: FakePipeline) -> None:
        """Deliver the Pipeline Hook of ``pipeline``."""
        body = {
            "object_kind": "pipeline",
            "object_attributes": {**pipeline.entity(), "ref": pipeline.entity()["ref"]},
            "merge_request": {"iid": pipeline.iid},
            "project": {
                "id": project.id,
                "path_with_namespace": http.project_path(self.state, project),
            },
        }
        await self.state.webhooks.emit(
            project, "Pipeline Hook", "pipeline_events", body
        )


def _find(request: web.Request) -> FakePipeline:
    pipelines: Pipelines = request.app[STATE_KEY].e2e_pipelines
    wanted = int(request.match_info["pipeline_id"])
    for pipeline in pipelines.rows:
        if pipeline.id == wanted:
            return pipeline
    raise web.HTTPNotFound(
        text='{"message":"404 Not found"}', content_type="application/json"
    )


async def get_jobs(request: web.Request) -> web.Response:
    """GET .../pipelines/:id/jobs."""
    pipeline = _find(request)
    return web.json_response(
        [
            {
                "id": pipeline.job_ids[name],
                "name": name,
                "stage": "test",
                "status": status,
                "allow_failure": False,
            }
            for name, status in pipeline.jobs.items()
        ]  # fmt: skip
    )


async def retry(request: web.Request) -> web.Response:
    """POST .../pipelines/:id/retry: failed jobs pending again, pipeline running."""
    pipeline = _find(request)
    for name, status in pipeline.jobs.items():
        if status in ("failed", "canceled"):
            pipeline.jobs[name] = "pending"
            pipeline.job_ids[name] = next(_ids)
    pipeline.status = "running"
    return web.json_response(pipeline.entity(), status=201)


def setup(app: web.Application) -> None:
    """Register the routes and the ``head_pipeline`` finder."""
    state = app[STATE_KEY]
    state.e2e_pipelines = Pipelines(state)
    state.mr_head_pipeline = state.e2e_pipelines.head
    base = "/api/v4/projects/{id}/pipelines/{pipeline_id}"
    app.router.add_get(base + "/jobs", get_jobs)
    app.router.add_post(base + "/retry", retry)
