"""Read the configuration file, validate it, and report every problem at once.

Precedence of the file: an explicit path > ``GITOPS_BOT_CONFIG`` >
``./config/bot.yaml``. ``GITOPS_BOT_GITLAB_URL`` replaces ``gitlab.url``.
The first pass reports together the schema (every section, with references
to environments checked against the names in the file) and the rules over
single keys of :mod:`bot.config.rules` (no environment listed twice under an
app, environment labels outside the bot's scoped labels); a key the schema
refuses is not reported again by a rule. The rules that combine sections
(promotions that end, automatic promotions only to where the app is deployed,
no manifest file listed twice) need a valid schema, so their problems show in
a second run, once the first ones are fixed.

Top-level keys starting with ``x-`` are ignored, so that a file can hold
YAML anchors to share (``x-office-hours: &office-hours [...]``). Aliases of
aliases multiply (nine levels of nine items are 9**9 nodes), so a file whose
aliases expand past ``MAX_NODES`` nodes is refused before anything expands.
"""

from __future__ import annotations

import os
import stat
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
from bot.config.rules import cross_problems, key_problems
from bot.errors import where_not_utf8

CONFIG_VARIABLE = "GITOPS_BOT_CONFIG"
URL_VARIABLE = "GITOPS_BOT_GITLAB_URL"
DEFAULT_PATH = Path("config") / "bot.yaml"
# The example configuration has a few hundred nodes; a large one, thousands.
MAX_NODES = 100_000
# Far above any real configuration; reading stops short of a runaway file.
MAX_CONFIG_BYTES = 4 * 1024 * 1024


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
        _ensure_plain_file(source)
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [
                f"{source}: no such file; pass a path, set {CONFIG_VARIABLE}, "
                f"or create {DEFAULT_PATH}"
            ]
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            [f"{source} is a directory, not a configuration file"]
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            [f"{source} is not UTF-8 text ({where_not_utf8(error)}); save it as UTF-8"]
        ) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError([f"{source}: cannot read the file: {reason}"]) from None
    return parse_config(text, str(source), environ)


def _ensure_plain_file(source: Path) -> None:
    """Refuse what reading would hang on or never finish: a FIFO, a device
    (``/dev/zero``), a socket, or a file far larger than any configuration.
    A directory or a missing file is left to the read, which names it."""
    info = source.stat()
    if stat.S_ISDIR(info.st_mode):
        return
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            [f"{source} is not a regular file (a FIFO, device or socket); "
             "give the path of a YAML file"]
        )  # fmt: skip
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(
            [f"{source} is {info.st_size} bytes; a configuration file is at most "
             f"{MAX_CONFIG_BYTES} bytes"]
        )  # fmt: skip


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
    rules = key_problems(data)
    try:
        config = Config.model_validate(data, context={"environments": names})
    except ValidationError as error:
        schema = _schema_problems(error)
        refused = {loc for loc, _ in schema}
        problems = schema + [(loc, text) for loc, text in rules if loc not in refused]
        raise ConfigError(_report(problems, document, filename, overrides)) from None

    problems = rules + cross_problems(config)
    if problems:
        raise ConfigError(_report(problems, document, filename, overrides))
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
    # ruamel.yaml 0.19 recurses once per level of nesting, and raises
    # TypeError for a key holding a nested list (`? [[a]]`).
    except RecursionError:
        raise ConfigError([f"{filename}:1: invalid YAML: nested too deeply"]) from None
    except TypeError:
        raise ConfigError(
            [f"{filename}:1: invalid YAML: a key holds a list or mapping inside it"]
        ) from None

    if document is None:
        raise ConfigError(
            [f"{filename}:1: the file is empty; expected gitlab, environments and apps"]
        )
    if not isinstance(document, dict):
        raise ConfigError([f"{filename}:1: expected a mapping at the top level"])
    _ensure_bounded(document, filename)
    return document


def _ensure_bounded(document: dict[Any, Any], filename: str) -> None:
    """Refuse a document whose aliases expand past ``MAX_NODES`` nodes.

    The problem names the line of the top-level key that crosses the bound.
    """
    sizes: dict[int, int] = {}
    total = 1
    for key, value in document.items():
        total += 1 + _expanded_size(value, sizes)
        if total > MAX_NODES:
            line = line_of(document, (key,))
            raise ConfigError(
                [
                    f"{filename}:{line}: aliases expand to more than {MAX_NODES} "
                    "nodes; refusing the file"
                ]
            )


def _expanded_size(node: Any, sizes: dict[int, int]) -> int:
    """The nodes of ``node`` with aliases expanded, without expanding them.

    An alias shares the anchored object, so each list or mapping is counted
    once and its size, remembered in ``sizes`` by ``id``, reused.
    """
    if not isinstance(node, dict | list):
        return 1
    known = sizes.get(id(node))
    if known is not None:
        return known

    # A node met again while it is being counted holds itself: endless.
    sizes[id(node)] = MAX_NODES + 1
    children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
    size = 1 + sum(_expanded_size(child, sizes) for child in children)
    sizes[id(node)] = size
    return size


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


def _schema_problems(error: ValidationError) -> list[tuple[Loc, str]]:
    return [
        (detail["loc"], describe(detail, Config))
        for detail in error.errors()
        if not is_echo(detail)
    ]


def _report(
    problems: list[tuple[Loc, str]],
    document: Any,
    filename: str,
    overrides: dict[Loc, str],
) -> list[str]:
    """One ``file:line: key: message`` line per problem, in the file's order."""
    lines = []
    for loc, message in problems:
        where = overrides.get(loc) or f"{filename}:{line_of(document, loc)}"
        lines.append((where, f"{where}: {dotted(loc)}: {message}"))
    return [text for _, text in sorted(lines, key=lambda item: _line_key(item[0]))]


def _line_key(where: str) -> tuple[int, str]:
    _, _, line = where.rpartition(":")
    return (int(line), where) if line.isdigit() else (0, where)
