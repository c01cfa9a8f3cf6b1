"""Splice new scalar text into the original, and guard the result.

Only the characters of the changed scalar are replaced; whole lines are
inserted or removed only where an editor asked for it. The guard then
compares the original and the new text line by line and refuses any
difference outside those lines.
"""

from __future__ import annotations

import difflib

from ruamel.yaml.nodes import Node, ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from bot.manifests.errors import EditGuardError, UnsupportedEdit
from bot.manifests.model import Change, Delete, Insert, Replace, TextEdit
from bot.manifests.nodes import is_alias_use, line_of, span_of
from bot.manifests.yamltext import Document, Parsed

_STR = "tag:yaml.org,2002:str"
_RESOLVERS = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))
_PLAIN_FIRST = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./")
_PLAIN_REST = _PLAIN_FIRST | set(":@=+-")


def is_plain_string(value: str) -> bool:
    """True when ``value`` reads back as the same string when written plain."""
    if not value or value[0] not in _PLAIN_FIRST or value.endswith(":"):
        return False
    if not set(value) <= _PLAIN_REST:
        return False
    return all(
        resolver.resolve(ScalarNode, value, (True, False)) == _STR
        for resolver in _RESOLVERS
    )


def render(style: str | None, value: str) -> str:
    """Return ``value`` as YAML source in ``style``; plain becomes quoted if needed."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not is_plain_string(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def replace_scalar(
    parsed: Parsed, document: Document, key: Node | None, value: Node, new: str
) -> Replace:
    """Return the edit that turns scalar ``value`` into ``new`` in place."""
    where = f"{parsed.path}:{line_of(document, value) + 1}"
    if not isinstance(value, ScalarNode):
        raise UnsupportedEdit(f"{where}: expected a single value, found a block")
    if key is not None and is_alias_use(key, value):
        raise UnsupportedEdit(
            f"{parsed.path}:{line_of(document, key) + 1}: the value is an alias of "
            f"the anchor &{value.anchor} at line {line_of(document, value) + 1}; "
            "name the anchored value instead, which changes every alias of it"
        )
    if value.style in ("|", ">"):
        raise UnsupportedEdit(f"{where}: the value is a block scalar ({value.style})")

    start, end = span_of(document, value)
    if value.value == "" and value.style is None:
        return _fill_empty(parsed, document, key, new)
    if value.start_mark.line != value.end_mark.line:
        raise UnsupportedEdit(f"{where}: the value spans several lines")
    start = _source_start(parsed.text, value, start, end)
    text = render(value.style, new)
    if text == new and ":" in new and _is_in_flow(parsed.text, end):
        # "a:b" is plain-safe in block context, but some YAML 1.1 loaders
        # refuse a colon inside a flow collection's plain scalar.
        text = render('"', new)
    return Replace(start, end, line_of(document, value), value.value, new, text)


def _is_in_flow(text: str, end: int) -> bool:
    """True when a value ending at ``end`` is followed by ``,``, ``]`` or ``}``."""
    stop = text.find("\n", end)
    rest = text[end : stop if stop >= 0 else None]
    return rest.lstrip()[:1] in (",", "]", "}")


def _source_start(text: str, value: ScalarNode, start: int, end: int) -> int:
    if value.style in ("'", '"'):
        return text.index(value.style, start, end)
    return end - len(value.value)


def _fill_empty(
    parsed: Parsed, document: Document, key: Node | None, new: str
) -> Replace:
    if key is None:
        raise UnsupportedEdit(f"{parsed.path}: cannot fill an empty list item")
    colon = parsed.text.index(":", span_of(document, key)[1]) + 1
    line = line_of(document, key)
    return Replace(colon, colon, line, "", new, " " + render(None, new))


def apply(parsed: Parsed, edits: tuple[TextEdit, ...]) -> str:
    """Return the text with ``edits`` applied, after the line guard passed."""
    lines = list(parsed.lines)
    replaced = _apply_replaces(parsed, lines, edits)
    deleted = {edit.line for edit in edits if isinstance(edit, Delete)}
    inserts: dict[int, tuple[str, ...]] = {}
    for edit in edits:
        if isinstance(edit, Insert):
            inserts[edit.after] = inserts.get(edit.after, ()) + edit.lines

    eol = _eol(parsed)
    out = [line + eol for line in inserts.get(-1, ())]
    for number, line in enumerate(lines):
        if number not in deleted:
            out.append(line)
        if number in inserts:
            out.extend(_inserted(out, inserts[number], eol))
    new_lines = tuple("".join(out).splitlines(keepends=True))

    ensure_only(parsed.lines, new_lines, replaced, deleted, inserts)
    return parsed.bom + "".join(new_lines)


def _apply_replaces(
    parsed: Parsed, lines: list[str], edits: tuple[TextEdit, ...]
) -> set[int]:
    starts = [0]
    for line in parsed.lines:
        starts.append(starts[-1] + len(line))

    replaces = [edit for edit in edits if isinstance(edit, Replace)]
    for edit in sorted(replaces, key=lambda edit: -edit.start):
        line = lines[edit.line]
        left, right = edit.start - starts[edit.line], edit.end - starts[edit.line]
        lines[edit.line] = line[:left] + edit.text + line[right:]
    return {edit.line for edit in replaces}


def _eol(parsed: Parsed) -> str:
    """Return the file's line ending (its first line's), LF for one-line files."""
    first = parsed.lines[0] if parsed.lines else "\n"
    return "\r\n" if first.endswith("\r\n") else "\n"


def _inserted(out: list[str], lines: tuple[str, ...], eol: str) -> list[str]:
    # Appending after a last line without newline: that line gains the
    # newline and the new last line goes without one, as the file did.
    if out and not out[-1].endswith("\n"):
        out[-1] += eol
        return [eol.join(lines)]
    return [line + eol for line in lines]


def ensure_only(
    original: tuple[str, ...],
    new: tuple[str, ...],
    replaced: set[int],
    deleted: set[int],
    inserts: dict[int, tuple[str, ...]],
) -> None:
    """Raise EditGuardError when ``new`` differs outside the intended lines."""
    position = len(inserts.get(-1, ()))
    for number, line in enumerate(original):
        if number not in deleted:
            if position >= len(new) or not _is_kept(
                line, new[position], number in replaced
            ):
                raise EditGuardError(
                    f"refusing the edit: line {number + 1} would change "
                    f"({line.rstrip()!r}); only the target lines may change"
                )
            position += 1
        position += len(inserts.get(number, ()))
    if position != len(new):
        raise EditGuardError("refusing the edit: the line count does not add up")


def _is_kept(old: str, new: str, replaced: bool) -> bool:
    old_body, new_body = old.rstrip("\r\n"), new.rstrip("\r\n")
    old_eol, new_eol = old[len(old_body) :], new[len(new_body) :]
    same_eol = old_eol == new_eol or old_eol == ""
    return same_eol and (replaced or old_body == new_body)


def to_changes(path: str, edits: tuple[TextEdit, ...]) -> tuple[Change, ...]:
    """Describe ``edits`` as changes with 1-based input lines, in line order."""
    changes = []
    for edit in edits:
        if isinstance(edit, Replace):
            changes.append(Change(path, edit.line + 1, edit.old, edit.new))
        elif isinstance(edit, Insert):
            changes.append(Change(path, edit.after + 2, "", edit.new, "add"))
        else:
            changes.append(Change(path, edit.line + 1, edit.old, "", "remove"))
    return tuple(sorted(changes, key=lambda change: change.line))


def unified_diff(path: str, original: str, text: str) -> str:
    """Return a git-style unified diff with ``a/`` and ``b/`` prefixes."""
    lines = difflib.unified_diff(
        original.splitlines(keepends=True),
        text.splitlines(keepends=True),
        f"a/{path}",
        f"b/{path}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
        for line in lines
    )
