"""Everything a job sees when it runs: its environment, masked values, ID tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.sandbox import http
from bot.sandbox.ci import tokens, variables
from bot.sandbox.ci.model import Job, Pipeline
from bot.sandbox.ci.variables import MergeRequestFacts
from bot.sandbox.records import Project


@dataclass(frozen=True)
class JobEnvironment:
    """The variables of one job run, what to mask, which go to files."""

    env: dict[str, str]
    masked: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)


def merge_request_facts(state: Any, pipeline: Pipeline) -> MergeRequestFacts | None:
    """The merge request of an MR pipeline, or None."""
    if pipeline.merge_request_iid is None:
        return None
    found = state.store.find(
        "merge_requests", project_id=pipeline.project_id, iid=pipeline.merge_request_iid
    )
    if not found:
        return None
    mr = found[0]
    return MergeRequestFacts(
        mr.id, mr.iid, mr.title, mr.source_branch, mr.target_branch, mr.base_sha
    )


def pipeline_environment(
    state: Any, project: Project, pipeline: Pipeline, job: Job
) -> JobEnvironment:
    """Predefined, YAML, project and pipeline variables, in GitLab's precedence."""
    user = state.store.get("users", job.user_id)
    mr = merge_request_facts(state, pipeline)
    env = variables.predefined(state, project, pipeline, user, mr)
    env.update(variables.expand_all(job.variables, env))

    protected = variables.is_ref_protected(state, project, pipeline)
    masked, files = [], {}
    for record in variables.project_variables(state, project, protected):
        value = record.value if record.raw else variables.expand(record.value, env)
        if record.variable_type == "file":
            files[record.key] = value
        else:
            env[record.key] = value
        if record.masked:
            masked.append(value)
    for item in pipeline.variables:
        env[item["key"]] = item["value"]
    return JobEnvironment(env, tuple(masked), files)


def identity(state: Any, project: Project, pipeline: Pipeline, job: Job) -> Any:
    """The ID-token identity of ``job``."""
    user = state.store.get("users", job.user_id)
    mr = merge_request_facts(state, pipeline)
    path = http.project_path(state, project)
    return tokens.JobIdentity(
        issuer=state.base_url,
        project_id=project.id,
        project_path=path,
        namespace_id=project.namespace_id,
        namespace_path=path.rsplit("/", 1)[0],
        user_id=user.id,
        user_login=user.username,
        user_email=user.email,
        pipeline_id=pipeline.id,
        pipeline_source=pipeline.source,
        job_id=job.id,
        ref=variables.ref_name(pipeline, mr),
        ref_type="tag" if pipeline.tag else "branch",
        ref_protected=variables.is_ref_protected(state, project, pipeline),
        sha=pipeline.sha,
        environment=job.environment,
        timeout=job.timeout or state.ci.default_timeout,
    )


def job_environment(
    state: Any, project: Project, pipeline: Pipeline, job: Job, token: str
) -> JobEnvironment:
    """The full environment of a running job, ID tokens included."""
    base = pipeline_environment(state, project, pipeline, job)
    env = dict(base.env)
    env.update(variables.job_identity(state, project, job, token))
    if job.id_tokens:
        who = identity(state, project, pipeline, job)
        for name, audiences in job.id_tokens.items():
            expanded = [variables.expand(aud, env) for aud in audiences]
            audience = expanded[0] if len(expanded) == 1 else expanded
            claims = tokens.id_token_claims(who, audience)
            env[name] = state.ci.keys.sign(claims)
    masked = (*base.masked, token)
    return JobEnvironment(env, masked, base.files)
