"""Which jobs a pipeline gets: workflow rules, job rules, only/except (pure).

GitLab decides per pipeline: ``workflow:rules`` first (no match, or a
matching ``when: never``, means no pipeline), then each job's ``rules``
(first match wins; none means no job) or its ``only``/``except`` (default
``only: [branches, tags]``, so such jobs never join merge request
pipelines, unless ``workflow:rules`` exist: then there is no default).
``needs`` must name jobs that exist in the same pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from bot.sandbox.ci.config import CiConfig, ConfigError, JobSpec, RefPolicy, Rule
from bot.sandbox.ci.expressions import ExpressionError, parse_regex

FILTERED_BY_WORKFLOW = "Pipeline filtered out by workflow rules."
NO_JOBS = "No stages / jobs for this pipeline."
DEFAULT_ONLY = RefPolicy(refs=("branches", "tags"))
SOURCE_KEYWORDS = {
    "merge_requests": "merge_request_event",
    "pushes": "push",
    "api": "api",
    "web": "web",
    "triggers": "trigger",
    "pipelines": "pipeline",
    "schedules": "schedule",
    "external": "external",
    "chat": "chat",
}


@dataclass(frozen=True)
class PipelineContext:
    """What a pipeline is for: its source, ref and variables."""

    source: str
    ref: str
    ref_type: str  # "branch" | "tag" | "merge_request"
    variables: Mapping[str, str]
    exists: Callable[[str], bool] = lambda pattern: False


@dataclass(frozen=True)
class PlannedJob:
    """A job that exists in the pipeline, with its resolved ``when``."""

    spec: JobSpec
    stage_index: int
    when: str
    allow_failure: bool
    variables: tuple[tuple[str, str], ...]
    needs: tuple[str, ...] | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The jobs of a pipeline, or why there is no pipeline (``refusal``)."""

    jobs: tuple[PlannedJob, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    refusal: str | None = None


def plan(config: CiConfig, context: PipelineContext) -> Plan:
    """Decide the pipeline's jobs; raise ConfigError for broken ``needs``."""
    variables = {**dict(config.variables), **context.variables}
    workflow_variables: tuple[tuple[str, str], ...] = ()
    if config.workflow_rules is not None:
        rule = first_match(config.workflow_rules, variables, context)
        if rule is None or rule.when == "never":
            return Plan(refusal=FILTERED_BY_WORKFLOW)
        workflow_variables = rule.variables
        variables.update(dict(rule.variables))

    # With workflow:rules, jobs without rules or only get no default policy.
    default_only = None if config.workflow_rules is not None else DEFAULT_ONLY
    jobs = []
    for spec in config.jobs:
        index = config.stages.index(spec.stage)
        job = plan_job(spec, index, variables, context, default_only)
        if job is not None:
            jobs.append(job)
    if not jobs:
        return Plan(refusal=NO_JOBS)
    jobs = _resolve_needs(jobs)
    jobs.sort(key=lambda job: job.stage_index)
    return Plan(jobs=tuple(jobs), variables=workflow_variables)


def first_match(
    rules: tuple[Rule, ...], variables: Mapping[str, str], context: PipelineContext
) -> Rule | None:
    """The first rule whose ``if`` holds and whose ``exists`` paths exist."""
    for rule in rules:
        if rule.condition is not None and not rule.condition.evaluate(variables):
            continue
        if rule.exists and not any(context.exists(path) for path in rule.exists):
            continue
        return rule
    return None


def plan_job(
    spec: JobSpec,
    stage_index: int,
    variables: dict[str, str],
    context: PipelineContext,
    default_only: RefPolicy | None = DEFAULT_ONLY,
) -> PlannedJob | None:
    """The job as this pipeline has it, or None when it is left out."""
    scoped = {**variables, **dict(spec.variables)}
    warnings = spec.warnings
    if spec.rules is not None:
        rule = first_match(spec.rules, scoped, context)
        if rule is None:
            return None
        when = rule.when or spec.when
        allow = _allow_failure(rule.allow_failure, spec, when, rule.when is None)
        job_variables = (*spec.variables, *rule.variables)
    else:
        if not policy_admits(spec, context, default_only):
            return None
        when, job_variables = spec.when, spec.variables
        allow = _allow_failure(None, spec, when, True)
    if when == "never":
        return None
    if when == "delayed":
        warnings = (*warnings, "the sandbox runs delayed jobs at once")
        when = "on_success"
    needs = None if spec.needs is None else tuple(need.job for need in spec.needs)
    return PlannedJob(spec, stage_index, when, allow, job_variables, needs, warnings)


def _allow_failure(
    from_rule: bool | None, spec: JobSpec, when: str, inherited_when: bool
) -> bool:
    # Manual jobs may fail by default, except when a rule made them manual.
    if from_rule is not None:
        return from_rule
    if spec.allow_failure is not None:
        return spec.allow_failure
    return when == "manual" and inherited_when


def policy_admits(
    spec: JobSpec, context: PipelineContext, default_only: RefPolicy | None
) -> bool:
    """Apply ``only``/``except`` (``only`` defaults to ``default_only``)."""
    only = spec.only or default_only
    matched = only is None or _policy_matches(
        only, context, default_refs=DEFAULT_ONLY.refs
    )
    if not matched:
        return False
    return spec.except_ is None or not _policy_matches(
        spec.except_, context, default_refs=()
    )


def _policy_matches(
    policy: RefPolicy, context: PipelineContext, default_refs: tuple[str, ...]
) -> bool:
    refs = policy.refs or default_refs
    if refs and not any(ref_matches(entry, context) for entry in refs):
        return False
    if policy.variables:
        return any(e.evaluate(context.variables) for e in policy.variables)
    return bool(refs)


def ref_matches(entry: str, context: PipelineContext) -> bool:
    """Whether one ``only``/``except`` entry matches the pipeline."""
    name = entry.split("@", 1)[0]
    if name == "branches":
        return context.ref_type == "branch"
    if name == "tags":
        return context.ref_type == "tag"
    if name in SOURCE_KEYWORDS:
        return context.source == SOURCE_KEYWORDS[name]
    if name.startswith("/"):
        try:
            return parse_regex(name).search(context.ref)
        except ExpressionError:
            return False
    return name == context.ref


def _resolve_needs(jobs: list[PlannedJob]) -> list[PlannedJob]:
    names = {job.spec.name for job in jobs}
    resolved = []
    for job in jobs:
        if job.spec.needs is None:
            resolved.append(job)
            continue
        kept = []
        for need in job.spec.needs:
            if need.job in names:
                kept.append(need.job)
            elif not need.optional:
                raise ConfigError(
                    f"'{job.spec.name}' job needs '{need.job}' job, but "
                    f"'{need.job}' does not exist in the pipeline. This might be "
                    "because of the only, except, or rules keywords."
                )
        resolved.append(replace(job, needs=tuple(kept)))
    return resolved
