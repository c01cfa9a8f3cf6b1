"""``.gitlab-ci.yml`` parsing into frozen values (pure).

Supported: ``stages``, ``workflow:rules``, global ``variables``,
``default:before_script``, and jobs with ``stage``, ``script``,
``before_script``, ``after_script``, ``variables``, ``rules``, ``when``,
``only``/``except``, ``needs``, ``allow_failure``, ``id_tokens``,
``trigger``, ``environment``, ``timeout``; ``image`` and runner ``tags``
are accepted and ignored. Other keywords become warnings that the runner
writes at the top of each job log. Structural mistakes raise ConfigError
with GitLab's wording where known (``jobs:<name> ...``). The parsers of
single values live in ``config_values``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.sandbox.ci.config_values import (
    ConfigError,
    as_list,
    as_mapping,
    environment_name,
    parse_allow_failure,
    parse_condition,
    parse_duration,
    script_lines,
    variable_pairs,
)
from bot.sandbox.ci.expressions import Expression

DEFAULT_STAGES = ("build", "test", "deploy")
WHENS = ("on_success", "on_failure", "always", "manual", "never", "delayed")
RESERVED = frozenset(
    {
        "stages",
        "workflow",
        "variables",
        "default",
        "include",
        "image",
        "services",
        "before_script",
        "after_script",
        "cache",
        "types",
        "spec",
    }
)
IGNORED_QUIETLY = frozenset({"image", "tags", "interruptible", "description"})
JOB_KEYS = frozenset(
    {
        "stage",
        "script",
        "before_script",
        "after_script",
        "variables",
        "rules",
        "when",
        "only",
        "except",
        "needs",
        "allow_failure",
        "id_tokens",
        "trigger",
        "environment",
        "timeout",
    }
)


@dataclass(frozen=True)
class Rule:
    """One entry of ``rules``; ``condition`` None matches always."""

    condition: Expression | None
    when: str | None = None
    allow_failure: bool | None = None
    variables: tuple[tuple[str, str], ...] = ()
    exists: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefPolicy:
    """``only`` or ``except``: ref keywords or names, and variable expressions."""

    refs: tuple[str, ...] = ()
    variables: tuple[Expression, ...] = ()


@dataclass(frozen=True)
class Need:
    """One ``needs`` entry."""

    job: str
    optional: bool = False


@dataclass(frozen=True)
class TriggerSpec:
    """A ``trigger:`` job's downstream project, branch and strategy."""

    project: str
    branch: str | None = None
    strategy: str | None = None


@dataclass(frozen=True)
class JobSpec:
    """One job as written in the configuration."""

    name: str
    stage: str = "test"
    script: tuple[str, ...] = ()
    before_script: tuple[str, ...] = ()
    after_script: tuple[str, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    rules: tuple[Rule, ...] | None = None
    only: RefPolicy | None = None
    except_: RefPolicy | None = None
    when: str = "on_success"
    allow_failure: bool | None = None
    needs: tuple[Need, ...] | None = None
    id_tokens: tuple[tuple[str, tuple[str, ...]], ...] = ()
    trigger: TriggerSpec | None = None
    environment: str | None = None
    timeout: int | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CiConfig:
    """A whole configuration: stages in order, workflow, variables, jobs."""

    stages: tuple[str, ...]
    jobs: tuple[JobSpec, ...]
    variables: tuple[tuple[str, str], ...] = ()
    workflow_rules: tuple[Rule, ...] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def load(text: str) -> CiConfig:
    """Parse the YAML ``text`` of a ``.gitlab-ci.yml``; raise ConfigError."""
    try:
        document = YAML(typ="safe", pure=True).load(io.StringIO(text))
    except YAMLError as error:
        raise ConfigError(f"Invalid configuration format: {error}") from error
    if not isinstance(document, dict):
        raise ConfigError("Invalid configuration format: a mapping is expected")
    return parse_config(document)


def parse_config(document: dict[str, Any]) -> CiConfig:
    """Turn a loaded YAML mapping into a CiConfig."""
    stages = _stages(document.get("stages", document.get("types")))
    default = as_mapping(document.get("default") or {}, "default")
    before = script_lines(
        default.get("before_script", document.get("before_script")), "before_script"
    )
    after = script_lines(
        default.get("after_script", document.get("after_script")), "after_script"
    )
    warnings = tuple(
        f"the sandbox ignores the top-level keyword {key!r}"
        for key in ("include", "services", "cache")
        if key in document
    )
    jobs = tuple(
        parse_job(str(name), as_mapping(body, f"jobs:{name}"), before, after)
        for name, body in document.items()
        if name not in RESERVED and not str(name).startswith(".")
    )
    if not jobs:
        raise ConfigError("jobs config should contain at least one visible job")
    _check_stages(jobs, stages)
    workflow = as_mapping(document.get("workflow") or {}, "workflow")
    return CiConfig(
        stages=stages,
        jobs=jobs,
        variables=variable_pairs(document.get("variables"), "variables"),
        workflow_rules=_rules(workflow["rules"], "workflow")
        if "rules" in workflow
        else None,
        warnings=warnings,
    )


def _stages(value: Any) -> tuple[str, ...]:
    if value is None:
        return (".pre", *DEFAULT_STAGES, ".post")
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ConfigError("stages config should be an array of strings")
    return (".pre", *(s for s in value if s not in (".pre", ".post")), ".post")


def _check_stages(jobs: tuple[JobSpec, ...], stages: tuple[str, ...]) -> None:
    for job in jobs:
        if job.stage not in stages:
            raise ConfigError(
                f"jobs:{job.name} chosen stage {job.stage} does not exist; "
                f"available stages are {', '.join(stages)}"
            )


def _ensure_job_shape(body: dict[str, Any], where: str) -> str:
    """Refuse a job without script or trigger, or mixing keywords; its ``when``."""
    if "script" not in body and "trigger" not in body:
        raise ConfigError(f"{where} config should implement the script: or trigger:")
    when = str(body.get("when", "on_success"))
    if when not in WHENS:
        raise ConfigError(f"{where} when unknown value: {when}")
    for key in ("only", "except"):
        if "rules" in body and key in body:
            raise ConfigError(f"{where} config key may not be used with `rules`: {key}")
    return when


def parse_job(
    name: str, body: dict[str, Any], before: tuple[str, ...], after: tuple[str, ...]
) -> JobSpec:
    """Parse one job mapping (``before``/``after``: the defaults)."""
    where = f"jobs:{name}"
    when = _ensure_job_shape(body, where)
    unknown = sorted(set(body) - JOB_KEYS - IGNORED_QUIETLY)
    return JobSpec(
        name=name,
        stage=str(body.get("stage", "test")),
        script=script_lines(body.get("script"), f"{where}:script"),
        before_script=script_lines(body["before_script"], f"{where}:before_script")
        if "before_script" in body
        else before,
        after_script=script_lines(body["after_script"], f"{where}:after_script")
        if "after_script" in body
        else after,
        variables=variable_pairs(body.get("variables"), f"{where}:variables"),
        rules=_rules(body["rules"], where) if "rules" in body else None,
        only=_policy(body["only"], f"{where}:only") if "only" in body else None,
        except_=_policy(body["except"], f"{where}:except")
        if "except" in body
        else None,
        when=when,
        allow_failure=parse_allow_failure(body.get("allow_failure"), where),
        needs=_needs(body["needs"], where) if "needs" in body else None,
        id_tokens=_id_tokens(body.get("id_tokens"), where),
        trigger=_trigger(body["trigger"], where) if "trigger" in body else None,
        environment=environment_name(body.get("environment")),
        timeout=parse_duration(body["timeout"], where) if "timeout" in body else None,
        warnings=tuple(
            f"the sandbox ignores the keyword {key!r} of job {name!r}"
            for key in unknown
        ),
    )


def _rules(value: Any, where: str) -> tuple[Rule, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}:rules config should be an array of hashes")
    rules = []
    for item in value:
        rule = as_mapping(item, f"{where}:rules:rule")
        when = rule.get("when")
        if when is not None and str(when) not in WHENS:
            raise ConfigError(f"{where}:rules:rule when unknown value: {when}")
        exists = rule.get("exists") or []
        rules.append(
            Rule(
                condition=parse_condition(rule["if"], f"{where}:rules:rule if")
                if "if" in rule
                else None,
                when=None if when is None else str(when),
                allow_failure=parse_allow_failure(rule.get("allow_failure"), where),
                variables=variable_pairs(
                    rule.get("variables"), f"{where}:rules:variables"
                ),
                exists=tuple(str(p) for p in as_list(exists)),
            )
        )
    return tuple(rules)


def _policy(value: Any, where: str) -> RefPolicy:
    if isinstance(value, str | list):
        return RefPolicy(refs=tuple(str(v) for v in as_list(value)))
    mapping = as_mapping(value, where)
    return RefPolicy(
        refs=tuple(str(v) for v in as_list(mapping.get("refs", []))),
        variables=tuple(
            parse_condition(text, f"{where} variables")
            for text in as_list(mapping.get("variables", []))
        ),
    )


def _needs(value: Any, where: str) -> tuple[Need, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}:needs config should be an array")
    needs = []
    for item in value:
        if isinstance(item, str):
            needs.append(Need(item))
        elif isinstance(item, dict) and "job" in item:
            needs.append(Need(str(item["job"]), bool(item.get("optional", False))))
        else:
            raise ConfigError(f"{where}:needs config has an invalid entry: {item!r}")
    return tuple(needs)


def _id_tokens(value: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    tokens = []
    for name, body in as_mapping(value, f"{where}:id_tokens").items():
        spec = as_mapping(body, f"{where}:id_tokens:{name}")
        if "aud" not in spec:
            raise ConfigError(
                f"{where}:id_tokens:{name} config missing required keys: aud"
            )
        audience = spec["aud"]
        values = audience if isinstance(audience, list) else [audience]
        tokens.append((str(name), tuple(str(a) for a in values)))
    return tuple(tokens)


def _trigger(value: Any, where: str) -> TriggerSpec:
    if isinstance(value, str):
        return TriggerSpec(project=value)
    spec = as_mapping(value, f"{where}:trigger")
    if "project" not in spec:
        # Child pipelines (trigger:include) are not modelled.
        raise ConfigError(f"{where}:trigger the sandbox only supports trigger:project")
    strategy = spec.get("strategy")
    if strategy not in (None, "depend"):
        raise ConfigError(f"{where}:trigger strategy should be depend")
    branch = spec.get("branch")
    return TriggerSpec(
        str(spec["project"]), None if branch is None else str(branch), strategy
    )
