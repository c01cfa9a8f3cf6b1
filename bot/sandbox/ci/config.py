"""``.gitlab-ci.yml`` parsing into frozen values (pure).

Supported: ``stages``, ``workflow:rules``, global ``variables``,
``default:before_script``, and jobs with ``stage``, ``script``,
``before_script``, ``after_script``, ``variables``, ``rules``, ``when``,
``only``/``except``, ``needs``, ``allow_failure``, ``id_tokens``,
``trigger``, ``environment``, ``timeout``; ``image`` and runner ``tags``
are accepted and ignored. Other keywords become warnings that the runner
writes at the top of each job log. Structural mistakes raise ConfigError
with GitLab's wording where known (``jobs:<name> ...``).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.sandbox.ci.expressions import Expression, ExpressionError, parse

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
DURATION = re.compile(r"(\d+)\s*(hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b")
UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


class ConfigError(ValueError):
    """The CI configuration is invalid; GitLab shows it as ``yaml_errors``."""


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
    default = _mapping(document.get("default") or {}, "default")
    before = _lines(
        default.get("before_script", document.get("before_script")), "before_script"
    )
    after = _lines(
        default.get("after_script", document.get("after_script")), "after_script"
    )
    warnings = tuple(
        f"the sandbox ignores the top-level keyword {key!r}"
        for key in ("include", "services", "cache")
        if key in document
    )
    jobs = tuple(
        parse_job(str(name), _mapping(body, f"jobs:{name}"), before, after)
        for name, body in document.items()
        if name not in RESERVED and not str(name).startswith(".")
    )
    if not jobs:
        raise ConfigError("jobs config should contain at least one visible job")
    _check_stages(jobs, stages)
    workflow = _mapping(document.get("workflow") or {}, "workflow")
    return CiConfig(
        stages=stages,
        jobs=jobs,
        variables=_variables(document.get("variables"), "variables"),
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


def parse_job(
    name: str, body: dict[str, Any], before: tuple[str, ...], after: tuple[str, ...]
) -> JobSpec:
    """Parse one job mapping (``before``/``after``: the defaults)."""
    where = f"jobs:{name}"
    if "script" not in body and "trigger" not in body:
        raise ConfigError(f"{where} config should implement the script: or trigger:")
    when = str(body.get("when", "on_success"))
    if when not in WHENS:
        raise ConfigError(f"{where} when unknown value: {when}")
    unknown = sorted(set(body) - JOB_KEYS - IGNORED_QUIETLY)
    for key in ("only", "except"):
        if "rules" in body and key in body:
            raise ConfigError(f"{where} config key may not be used with `rules`: {key}")
    return JobSpec(
        name=name,
        stage=str(body.get("stage", "test")),
        script=_lines(body.get("script"), f"{where}:script"),
        before_script=_lines(body["before_script"], f"{where}:before_script")
        if "before_script" in body
        else before,
        after_script=_lines(body["after_script"], f"{where}:after_script")
        if "after_script" in body
        else after,
        variables=_variables(body.get("variables"), f"{where}:variables"),
        rules=_rules(body["rules"], where) if "rules" in body else None,
        only=_policy(body["only"], f"{where}:only") if "only" in body else None,
        except_=_policy(body["except"], f"{where}:except")
        if "except" in body
        else None,
        when=when,
        allow_failure=_allow_failure(body.get("allow_failure"), where),
        needs=_needs(body["needs"], where) if "needs" in body else None,
        id_tokens=_id_tokens(body.get("id_tokens"), where),
        trigger=_trigger(body["trigger"], where) if "trigger" in body else None,
        environment=_environment(body.get("environment")),
        timeout=parse_duration(body["timeout"], where) if "timeout" in body else None,
        warnings=tuple(
            f"the sandbox ignores the keyword {key!r} of job {name!r}"
            for key in unknown
        ),
    )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} config should be a hash")
    return value


def _lines(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        flat: list[str] = []
        for item in value:
            flat.extend([str(x) for x in item] if isinstance(item, list) else [item])
        if all(isinstance(line, str) for line in flat):
            return tuple(flat)
    raise ConfigError(f"{where} config should be a string or a nested array of strings")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _scalar(value.get("value", ""))
    return "" if value is None else str(value)


def _variables(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    mapping = _mapping(value, where)
    return tuple((str(key), _scalar(item)) for key, item in mapping.items())


def _condition(text: Any, where: str) -> Expression:
    try:
        return parse(str(text))
    except ExpressionError as error:
        raise ConfigError(f"{where} invalid expression syntax: {error}") from error


def _rules(value: Any, where: str) -> tuple[Rule, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}:rules config should be an array of hashes")
    rules = []
    for item in value:
        rule = _mapping(item, f"{where}:rules:rule")
        when = rule.get("when")
        if when is not None and str(when) not in WHENS:
            raise ConfigError(f"{where}:rules:rule when unknown value: {when}")
        exists = rule.get("exists") or []
        rules.append(
            Rule(
                condition=_condition(rule["if"], f"{where}:rules:rule if")
                if "if" in rule
                else None,
                when=None if when is None else str(when),
                allow_failure=_allow_failure(rule.get("allow_failure"), where),
                variables=_variables(rule.get("variables"), f"{where}:rules:variables"),
                exists=tuple(str(p) for p in _as_list(exists)),
            )
        )
    return tuple(rules)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        value = value.get("paths", [])
    return value if isinstance(value, list) else [value]


def _policy(value: Any, where: str) -> RefPolicy:
    if isinstance(value, str | list):
        return RefPolicy(refs=tuple(str(v) for v in _as_list(value)))
    mapping = _mapping(value, where)
    return RefPolicy(
        refs=tuple(str(v) for v in _as_list(mapping.get("refs", []))),
        variables=tuple(
            _condition(text, f"{where} variables")
            for text in _as_list(mapping.get("variables", []))
        ),
    )


def _allow_failure(value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict) and "exit_codes" in value:
        # TODO(ci): exit_codes lists are treated as "may fail"; add per-code
        # matching if a test needs it.
        return True
    raise ConfigError(f"{where} allow_failure should be a boolean value")


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
    for name, body in _mapping(value, f"{where}:id_tokens").items():
        spec = _mapping(body, f"{where}:id_tokens:{name}")
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
    spec = _mapping(value, f"{where}:trigger")
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


def _environment(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    return None if value is None else str(value)


def parse_duration(value: Any, where: str = "timeout") -> int:
    """Seconds in ``"1h 30m"``, ``"10 minutes"``, ``"45s"`` or a plain number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    parts = DURATION.findall(text)
    leftover = DURATION.sub("", text).strip()
    if not parts or leftover:
        raise ConfigError(f"{where} config should be a duration, not {value!r}")
    return sum(int(amount) * UNIT_SECONDS[unit[0]] for amount, unit in parts)
