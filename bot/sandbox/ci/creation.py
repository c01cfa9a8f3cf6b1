"""Creating a pipeline: read ``.gitlab-ci.yml`` at the commit, plan, store.

Refusals carry GitLab's ``base`` messages (``Missing CI config file``,
``Pipeline filtered out by workflow rules.``, ``No stages / jobs for this
pipeline.``, ``Reference not found``). A configuration error makes a
failed pipeline with ``yaml_errors`` for pushes, as GitLab does, and a
refusal for API calls.
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from typing import Any

from bot.sandbox import http
from bot.sandbox.ci import config, planning, variables
from bot.sandbox.ci.model import JOBS, PIPELINES, ZERO_SHA, Job, Pipeline
from bot.sandbox.ci.planning import PipelineContext, PlannedJob
from bot.sandbox.records import Project

CONFIG_PATH = ".gitlab-ci.yml"
MISSING_CONFIG = "Missing CI config file"


class PipelineRefused(Exception):
    """No pipeline could be created; the message is GitLab's ``base`` error."""


@dataclass(frozen=True)
class PipelineRequest:
    """What to build, why, and for whom."""

    sha: str
    ref: str
    ref_type: str  # "branch" | "tag"
    source: str
    user_id: int
    variables: tuple[tuple[str, str], ...] = ()
    before_sha: str = ZERO_SHA
    merge_request: variables.MergeRequestFacts | None = None
    upstream_job_id: int | None = None
    keep_failed: bool = False


def new_pipeline(state: Any, project: Project, request: PipelineRequest) -> Pipeline:
    """An unsaved pipeline record for ``request`` (its id reserved)."""
    mr = request.merge_request
    now = http.iso()
    record = Pipeline(
        project_id=project.id,
        iid=state.store.next_id(f"ci_pipeline_iid:{project.id}"),
        sha=request.sha,
        ref=f"refs/merge-requests/{mr.iid}/head" if mr else request.ref,
        source=request.source,
        user_id=request.user_id,
        created_at=now,
        updated_at=now,
        before_sha=request.before_sha,
        tag=request.ref_type == "tag",
        variables=[
            {"key": key, "value": value, "variable_type": "env_var"}
            for key, value in request.variables
        ],
        merge_request_iid=None if mr is None else mr.iid,
        upstream_job_id=request.upstream_job_id,
    )
    record.id = state.store.next_id(f"table:{PIPELINES}")
    return record


def rule_variables(
    state: Any, project: Project, record: Pipeline, request: PipelineRequest
) -> dict[str, str]:
    """Variables the rules see: predefined, project, then pipeline variables."""
    user = state.store.get("users", request.user_id)
    env = variables.predefined(state, project, record, user, request.merge_request)
    protected = variables.is_ref_protected(state, project, record)
    for found in variables.project_variables(state, project, protected):
        env[found.key] = found.value
    env.update(dict(request.variables))
    return env


def create_pipeline(state: Any, project: Project, request: PipelineRequest) -> Pipeline:
    """Store a pipeline with its jobs; raise PipelineRefused when there is none."""
    repo = state.repo(project)
    text = repo.read_file(request.sha, CONFIG_PATH)
    if text is None:
        raise PipelineRefused(MISSING_CONFIG)

    record = new_pipeline(state, project, request)
    env = rule_variables(state, project, record, request)
    try:
        parsed = config.load(text.decode(errors="replace"))
        context = PipelineContext(
            source=request.source,
            ref=request.ref,
            ref_type="merge_request" if request.merge_request else request.ref_type,
            variables=env,
            exists=_exists_in(repo, request.sha),
        )
        plan = planning.plan(parsed, context)
    except config.ConfigError as error:
        if not request.keep_failed:
            raise PipelineRefused(str(error)) from error
        return _failed_pipeline(state, record, str(error))
    if plan.refusal is not None:
        raise PipelineRefused(plan.refusal)

    state.store.insert(PIPELINES, record)
    for planned in plan.jobs:
        state.store.insert(JOBS, job_record(record, planned, parsed, plan))
    record.stages = _stages_in_use(parsed.stages, plan.jobs)
    return record


def _failed_pipeline(state: Any, record: Pipeline, message: str) -> Pipeline:
    record.status, record.yaml_errors = "failed", message
    record.finished_at = record.created_at
    return state.store.insert(PIPELINES, record)


def _exists_in(repo: Any, sha: str) -> Any:
    @functools.cache
    def paths() -> tuple[str, ...]:
        return tuple(repo.out(["ls-tree", "-r", "--name-only", sha]).splitlines())

    return lambda pattern: any(fnmatch.fnmatch(path, pattern) for path in paths())


def _stages_in_use(stages: tuple[str, ...], jobs: tuple[PlannedJob, ...]) -> list[str]:
    used = {job.spec.stage for job in jobs}
    return [stage for stage in stages if stage in used]


def job_record(
    pipeline: Pipeline,
    planned: PlannedJob,
    parsed: config.CiConfig,
    plan: planning.Plan,
) -> Job:
    """The stored job of one planned job."""
    spec = planned.spec
    yaml_variables = [*parsed.variables, *plan.variables, *planned.variables]
    trigger = spec.trigger
    return Job(
        pipeline_id=pipeline.id,
        project_id=pipeline.project_id,
        name=spec.name,
        stage=spec.stage,
        stage_index=planned.stage_index,
        user_id=pipeline.user_id,
        created_at=pipeline.created_at,
        when=planned.when,
        allow_failure=planned.allow_failure,
        script=list(spec.script),
        before_script=list(spec.before_script),
        after_script=list(spec.after_script),
        variables=[[key, value] for key, value in yaml_variables],
        needs=None if planned.needs is None else list(planned.needs),
        id_tokens={name: list(audience) for name, audience in spec.id_tokens},
        trigger=None
        if trigger is None
        else {
            "project": trigger.project,
            "branch": trigger.branch,
            "strategy": trigger.strategy,
        },
        environment=spec.environment,
        timeout=spec.timeout,
        warnings=[*parsed.warnings, *planned.warnings],
    )
