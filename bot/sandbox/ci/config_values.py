"""Small value parsers of ``.gitlab-ci.yml`` keywords (pure).

Each takes the YAML value and ``where`` (the keyword's path, for GitLab's
wording of the error) and returns a plain value or raises ConfigError.
"""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.ci.expressions import Expression, ExpressionError, parse

DURATION = re.compile(r"(\d+)\s*(hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b")
UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


class ConfigError(ValueError):
    """The CI configuration is invalid; GitLab shows it as ``yaml_errors``."""


def as_mapping(value: Any, where: str) -> dict[str, Any]:
    """The hash at ``where``; ConfigError when it is not one."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where} config should be a hash")
    return value


def script_lines(value: Any, where: str) -> tuple[str, ...]:
    """A script: a string or a nested array of strings, flattened."""
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


def scalar(value: Any) -> str:
    """A variable's value as text (``value:`` of the long form)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return scalar(value.get("value", ""))
    return "" if value is None else str(value)


def variable_pairs(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """A ``variables:`` hash as (name, value) pairs."""
    if value is None:
        return ()
    mapping = as_mapping(value, where)
    return tuple((str(key), scalar(item)) for key, item in mapping.items())


def parse_condition(text: Any, where: str) -> Expression:
    """An ``if:`` expression, parsed."""
    try:
        return parse(str(text))
    except ExpressionError as error:
        raise ConfigError(f"{where} invalid expression syntax: {error}") from error


def as_list(value: Any) -> list[Any]:
    """A single value or a list (``paths:`` of the long form) as a list."""
    if isinstance(value, dict):
        value = value.get("paths", [])
    return value if isinstance(value, list) else [value]


def parse_allow_failure(value: Any, where: str) -> bool | None:
    """``allow_failure``: a boolean, or ``exit_codes`` (may fail)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict) and "exit_codes" in value:
        # TODO(ci): exit_codes lists are treated as "may fail"; add per-code
        # matching if a test needs it.
        return True
    raise ConfigError(f"{where} allow_failure should be a boolean value")


def environment_name(value: Any) -> str | None:
    """An ``environment:`` name (short or long form)."""
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
