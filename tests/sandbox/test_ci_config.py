"""Table tests of .gitlab-ci.yml parsing and of which jobs a pipeline gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.ci.config import ConfigError, load, parse_duration
from bot.sandbox.ci.planning import (
    FILTERED_BY_WORKFLOW,
    NO_JOBS,
    PipelineContext,
    plan,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "sandbox_ci"
RULES = (DATA / "rules.gitlab-ci.yml").read_text()


def context(source: str, ref: str, ref_type: str, **extra: str) -> PipelineContext:
    """A pipeline context with the predefined variables GitLab would set."""
    env = {"CI_PIPELINE_SOURCE": source, "CI_DEFAULT_BRANCH": "main", **extra}
    if ref_type == "branch":
        env["CI_COMMIT_BRANCH"] = ref
    elif ref_type == "tag":
        env["CI_COMMIT_TAG"] = ref
    return PipelineContext(source, ref, ref_type, env)


JOBS_BY_CONTEXT = [
    ("push", "main", "branch", {}, {"default-job", "manual-on-main"}),
    ("push", "feat", "branch", {}, {"default-job", "branches-except-main"}),
    (
        "push",
        "release-1",
        "branch",
        {},
        {"default-job", "branches-except-main", "release-regex"},
    ),
    ("push", "v1.0.0", "tag", {}, {"default-job", "tag-only"}),
    ("merge_request_event", "feat", "merge_request", {}, {"mr-only"}),
    (
        "trigger",
        "main",
        "branch",
        {"DEPLOY_TARGET": "staging"},
        {"default-job", "triggered", "manual-on-main"},
    ),
    ("trigger", "main", "branch", {}, {"default-job", "manual-on-main"}),
    ("api", "feat", "branch", {}, {"default-job", "branches-except-main"}),
]


@pytest.mark.parametrize(("source", "ref", "kind", "extra", "jobs"), JOBS_BY_CONTEXT)
def test_rules_and_only_except_choose_jobs(
    source: str, ref: str, kind: str, extra: dict[str, str], jobs: set[str]
) -> None:
    """Rules, only/except and the default ``only: [branches, tags]`` pick jobs."""
    chosen = plan(load(RULES), context(source, ref, kind, **extra))
    assert {job.spec.name for job in chosen.jobs} == jobs


def test_planned_jobs_carry_when_and_allow_failure() -> None:
    """A rule's ``when: manual`` blocks (allow_failure false); ``always`` stays."""
    config = load(RULES)
    chosen = plan(config, context("trigger", "main", "branch", DEPLOY_TARGET="x"))
    by_name = {job.spec.name: job for job in chosen.jobs}
    assert (
        by_name["manual-on-main"].when,
        by_name["manual-on-main"].allow_failure,
    ) == (
        "manual",
        False,
    )
    assert by_name["triggered"].when == "always"
    assert [job.spec.name for job in chosen.jobs][0] == "default-job"


def test_unknown_keywords_become_warnings() -> None:
    """``artifacts`` and ``include`` are ignored with warnings, ``image`` quietly."""
    config = load(RULES)
    manual = next(job for job in config.jobs if job.name == "manual-on-main")
    assert manual.warnings == (
        "the sandbox ignores the keyword 'artifacts' of job 'manual-on-main'",
    )
    assert config.warnings == ("the sandbox ignores the top-level keyword 'include'",)


WORKFLOW = """
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_TAG
      variables: {KIND: release}
    - if: $CI_COMMIT_BRANCH == "main"
      when: never
integration-test:
  rules:
    - when: on_success
  script: echo "$KIND"
"""


@pytest.mark.parametrize(
    ("source", "ref", "kind", "refusal", "variables"),
    [
        ("merge_request_event", "feat", "merge_request", None, ()),
        ("push", "v2", "tag", None, (("KIND", "release"),)),
        ("push", "main", "branch", FILTERED_BY_WORKFLOW, ()),
        ("push", "feat", "branch", FILTERED_BY_WORKFLOW, ()),
    ],
)
def test_workflow_rules_decide_whether_a_pipeline_exists(
    source: str, ref: str, kind: str, refusal: str | None, variables: tuple
) -> None:
    """No matching workflow rule, or ``when: never``, means no pipeline."""
    chosen = plan(load(WORKFLOW), context(source, ref, kind))
    assert chosen.refusal == refusal
    assert chosen.variables == variables


def test_no_matching_job_means_no_pipeline() -> None:
    """A pipeline whose every job is ruled out is refused with GitLab's words."""
    text = "only-mr:\n  only: [merge_requests]\n  script: echo\n"
    assert plan(load(text), context("push", "main", "branch")).refusal == NO_JOBS


NEEDS = """
stages: [build, test]
build:
  stage: build
  script: echo build
  rules:
    - if: $CI_COMMIT_TAG
lint:
  stage: test
  needs: []
  script: echo lint
unit:
  stage: test
  needs: [{job: build, optional: true}]
  script: echo unit
package:
  stage: test
  needs: [build]
  script: echo package
"""


def test_needs_on_a_missing_job_is_a_configuration_error() -> None:
    """A required need that rules removed is refused; an optional one is dropped."""
    tagged = plan(load(NEEDS), context("push", "v1", "tag"))
    assert {job.spec.name: job.needs for job in tagged.jobs} == {
        "build": None,
        "lint": (),
        "unit": ("build",),
        "package": ("build",),
    }
    with pytest.raises(ConfigError) as raised:
        plan(load(NEEDS), context("push", "main", "branch"))
    assert str(raised.value).startswith(
        "'package' job needs 'build' job, but 'build' does not exist in the pipeline."
    )


CONFIG_ERRORS = [
    ("[1, 2]", "Invalid configuration format: a mapping is expected"),
    ("a: [", "Invalid configuration format"),
    ("stages: [build]\n", "jobs config should contain at least one visible job"),
    (
        "job:\n  stage: test\n",
        "jobs:job config should implement the script: or trigger:",
    ),
    ("job: echo\n", "jobs:job config should be a hash"),
    (
        "job:\n  stage: nope\n  script: x\n",
        "jobs:job chosen stage nope does not exist; available stages are .pre, "
        "build, test, deploy, .post",
    ),
    ("job:\n  script: x\n  when: later\n", "jobs:job when unknown value: later"),
    (
        "job:\n  script: x\n  rules:\n    - if: $A ==\n",
        "jobs:job:rules:rule if invalid expression syntax",
    ),
    (
        "job:\n  script: x\n  rules: []\n  only: [main]\n",
        "jobs:job config key may not be used with `rules`: only",
    ),
    ("job:\n  script: [1, [2]]\n", ""),
    (
        "job:\n  script: x\n  allow_failure: maybe\n",
        "allow_failure should be a boolean",
    ),
    (
        "job:\n  script: x\n  id_tokens:\n    T: {}\n",
        "jobs:job:id_tokens:T config missing required keys: aud",
    ),
    (
        "job:\n  trigger:\n    include: child.yml\n",
        "jobs:job:trigger the sandbox only supports trigger:project",
    ),
    (
        "job:\n  trigger: {project: a/b, strategy: mirror}\n",
        "jobs:job:trigger strategy should be depend",
    ),
    ("job:\n  script: x\n  timeout: soon\n", "jobs:job config should be a duration"),
    (
        "stages: build\njob:\n  script: x\n",
        "stages config should be an array of strings",
    ),
]


@pytest.mark.parametrize(("text", "message"), CONFIG_ERRORS)
def test_invalid_configuration_is_refused_with_a_message(
    text: str, message: str
) -> None:
    """Structural mistakes raise ConfigError worded as GitLab's yaml_errors."""
    with pytest.raises(ConfigError) as raised:
        load(text)
    assert message in str(raised.value)


def test_job_fields_are_read() -> None:
    """Scripts, defaults, variables, id_tokens, trigger and timeout are parsed."""
    text = """
default:
  before_script: [echo setup]
variables:
  GLOBAL: {value: "1", description: shown in the UI}
deploy:
  stage: deploy
  script: [echo one, [echo two, echo three]]
  variables: {FLAG: true, N: 3}
  id_tokens:
    ID: {aud: https://bot.example}
    MULTI: {aud: [a, b]}
  environment: {name: staging}
  timeout: 1h 30m
downstream:
  trigger: {project: platform/gitops, branch: main, strategy: depend}
  variables: {APP_NAME: web}
"""
    config = load(text)
    deploy, downstream = config.jobs
    assert config.variables == (("GLOBAL", "1"),)
    assert deploy.before_script == ("echo setup",)
    assert deploy.script == ("echo one", "echo two", "echo three")
    assert deploy.variables == (("FLAG", "true"), ("N", "3"))
    assert deploy.id_tokens == (("ID", ("https://bot.example",)), ("MULTI", ("a", "b")))
    assert (deploy.environment, deploy.timeout) == ("staging", 5400)
    assert downstream.trigger is not None
    assert (downstream.trigger.project, downstream.trigger.strategy) == (
        "platform/gitops",
        "depend",
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10 minutes", 600), ("1h 30m", 5400), ("2 hours", 7200), (45, 45)],
)
def test_durations(text: str | int, seconds: int) -> None:
    """GitLab's duration forms convert to seconds."""
    assert parse_duration(text) == seconds


def test_workflow_rules_drop_the_default_only_policy() -> None:
    """With workflow:rules, a job without rules joins merge request pipelines."""
    chosen = plan(
        load(WORKFLOW.replace("rules:\n    - when: on_success\n  ", "")),
        context("merge_request_event", "feat", "merge_request"),
    )
    assert [job.spec.name for job in chosen.jobs] == ["integration-test"]
    without = "integration-test:\n  script: echo\n"
    refused = plan(
        load(without), context("merge_request_event", "feat", "merge_request")
    )
    assert refused.refusal == NO_JOBS
