"""Read the configuration file, validate it, and report every problem at once.

Precedence of the file: an explicit path > ``GITOPS_BOT_CONFIG`` >
``./config/bot.yaml``. ``GITOPS_BOT_GITLAB_URL`` replaces ``gitlab.url``.
Validation runs in two passes: the schema (every section, with references
to environments checked against the names in the file), then, once the
schema holds, the rules across keys of :mod:`bot.config.rules` (promotions
that end, no environment or manifest file listed twice, environment labels
outside the bot's scoped labels).

Top-level keys starting with ``x-`` are ignored, so that a file can hold
YAML anchors to share (``x-office-hours: &office-hours [...]``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from bot.config.model import Config
from bot.config.problems import (
    ConfigError,
    Loc,
    describe,
    dotted,
    is_echo,
    line_of,
)
from bot.config.rules import cross_problems

CONFIG_VARIABLE = "GITOPS_BOT_CONFIG"
URL_VARIABLE = "GITOPS_BOT_GITLAB_URL"
DEFAULT_PATH = Path("config") / "bot.yaml"


def config_path(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The file to read: ``path``, else ``$GITOPS_BOT_CONFIG``, else the default."""
    environ = os.environ if environ is None else environ
    if path:
        return Path(path)
    return Path(environ.get(CONFIG_VARIABLE) or DEFAULT_PATH)


def load_config(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read and validate the configuration; raise ``ConfigError`` listing faults."""
    source = config_path(path, environ)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [
                f"{source}: no such file; pass a path, set {CONFIG_VARIABLE}, "
                f"or create {DEFAULT_PATH}"
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{source}: cannot read the file: {error}"]) from None
    return parse_config(text, str(source), environ)


def parse_config(
    text: str, filename: str = "<config>", environ: Mapping[str, str] | None = None
) -> Config:
    """Validate configuration ``text``; errors name ``filename`` and lines."""
    environ = os.environ if environ is None else environ
    document = _read_yaml(text, filename)
    data = {
        key: value
        for key, value in _plain(document).items()
        if not (isinstance(key, str) and key.startswith("x-"))
    }

    overrides: dict[Loc, str] = {}
    url = environ.get(URL_VARIABLE)
    if url and isinstance(data.get("gitlab"), dict):
        data["gitlab"]["url"] = url
        overrides[("gitlab", "url")] = URL_VARIABLE

    environments = data.get("environments")
    names = (
        [name for name in environments if isinstance(name, str)]
        if isinstance(environments, dict)
        else []
    )
    try:
        config = Config.model_validate(data, context={"environments": names})
    except ValidationError as error:
        raise ConfigError(_report(error, document, filename, overrides)) from None

    problems = sorted(
        (line_of(document, loc), f"{dotted(loc)}: {message}")
        for loc, message in cross_problems(config)
    )
    if problems:
        raise ConfigError([f"{filename}:{line}: {text}" for line, text in problems])
    return config


def _read_yaml(text: str, filename: str) -> Any:
    try:
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(
            [f"{filename}:{line}: invalid YAML: {error.problem}"]
        ) from None
    except YAMLError as error:
        raise ConfigError([f"{filename}:1: invalid YAML: {error}"]) from None

    if document is None:
        raise ConfigError(
            [f"{filename}:1: the file is empty; expected gitlab, environments and apps"]
        )
    if not isinstance(document, dict):
        raise ConfigError([f"{filename}:1: expected a mapping at the top level"])
    return document


def _plain(node: Any) -> Any:
    """Copy the round-trip document into plain dicts, lists and scalars."""
    if isinstance(node, dict):
        return {_plain(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _report(
    error: ValidationError, document: Any, filename: str, overrides: dict[Loc, str]
) -> list[str]:
    lines = []
    for detail in error.errors():
        if is_echo(detail):
            continue
        loc = detail["loc"]
        where = overrides.get(loc) or f"{filename}:{line_of(document, loc)}"
        lines.append((where, f"{where}: {dotted(loc)}: {describe(detail, Config)}"))
    return [text for _, text in sorted(lines, key=lambda item: _line_key(item[0]))]


def _line_key(where: str) -> tuple[int, str]:
    _, _, line = where.rpartition(":")
    return (int(line), where) if line.isdigit() else (0, where)
