"""Turn validation errors into ``file:line: dotted.key: what is expected`` lines.

Lines come from the round-trip YAML document, walked along each error's
location; a key that is missing is reported at the line of its parent.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.config.fields import EXPECTED
from bot.errors import InvalidInput

Loc = tuple[int | str, ...]
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_SECRET_WORDS = ("token", "secret", "password", "passwd", "private_key", "api_key")
_PHRASES = {
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


class ConfigError(InvalidInput):
    """The configuration is invalid; ``problems`` holds one line per fault."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


def dotted(loc: Loc) -> str:
    """``('apps', 'web', 'manifests', 0, 'key')`` -> ``apps.web.manifests[0].key``.

    Keys that are not plain words are quoted: ``gitlab[' url']``.
    """
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}"
        else:
            text += f"[{part!r}]"
    return text.lstrip(".")


def line_of(document: Any, loc: Loc) -> int:
    """The 1-based line of the deepest key of ``loc`` present in ``document``."""
    node, line = document, 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = _key_line(node, part, line)
        elif isinstance(node, CommentedSeq) and isinstance(part, int):
            if part not in range(len(node)) or part not in (node.lc.data or {}):
                break
            line = node.lc.item(part)[0] + 1
        else:
            break
        node = node[part]
    return line


def is_echo(error: ErrorDetails) -> bool:
    """True for pydantic's "too short" echo of a list whose items failed."""
    given = error.get("input")
    minimum = (error.get("ctx") or {}).get("min_length", 0)
    return error["type"] == "too_short" and len(given or ()) >= minimum


def _key_line(node: CommentedMap, key: Any, fallback: int) -> int:
    # A key brought in by a merge (`<<: *defaults`) has its line in the
    # anchored mapping, not in the mapping that uses it. ruamel.yaml 0.19
    # lists the merged maps; older releases paired them with positions.
    merged = [m[-1] if isinstance(m, tuple) else m for m in getattr(node, "merge", [])]
    for mapping in [node, *merged]:
        if isinstance(mapping, CommentedMap) and key in (mapping.lc.data or {}):
            return mapping.lc.key(key)[0] + 1
    return fallback


def describe(error: ErrorDetails, root: type[BaseModel]) -> str:
    """What went wrong at the error's location, without the location."""
    kind, loc, given = error["type"], error["loc"], error.get("input")
    ctx = error.get("ctx") or {}

    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return _unknown_key(str(loc[-1]), _allowed_keys(root, loc[:-1]))

    if kind == EXPECTED:
        phrase, hide = ctx["expected"], ctx["hide"]
        hide = hide or isinstance(given, Mapping | BaseModel)
    elif kind == "too_short":
        phrase, hide = "at least one item", False
    else:
        phrase, hide = _PHRASES.get(kind, error["msg"].lower()), False
    return f"expected {phrase}" if hide else f"expected {phrase}, got {_show(given)}"


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an empty mapping" if not value else "a mapping"
    if isinstance(value, list | tuple):
        return "an empty list" if not value else "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _unknown_key(key: str, allowed: Sequence[str]) -> str:
    if any(word in key.lower() for word in _SECRET_WORDS) and not key.endswith("_env"):
        holder = next((name for name in allowed if name.endswith("_env")), "*_env")
        return (
            f"unknown key {key!r}: secrets are never read from the file; put the "
            f"value in an environment variable and give its name in {holder}"
        )

    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    return f"unknown key {key!r}; expected one of: {', '.join(allowed)}"


def _allowed_keys(root: type[BaseModel], loc: Loc) -> tuple[str, ...]:
    current: Any = root
    for part in loc:
        current = _strip(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return ()
            current = field.annotation
        elif get_origin(current) in (tuple, dict):
            current = get_args(current)[-1 if get_origin(current) is dict else 0]
        else:
            return ()

    current = _strip(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return tuple(current.model_fields)
    return ()


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated`` and ``| None`` around a type."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            others = [arg for arg in get_args(annotation) if arg is not type(None)]
            annotation = others[0]
        else:
            return annotation
