"""Build an expected output from an input and a case's spelled-out edits."""

from __future__ import annotations

from tests.manifests.cases import Add, Drop, Sub


def expected_text(original: str, edits: tuple[Sub | Add | Drop, ...]) -> str:
    """Return ``original`` with the edits applied by plain string operations."""
    bom = "\ufeff" if original.startswith("\ufeff") else ""
    lines = original[len(bom) :].splitlines(keepends=True)
    eol = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    out: list[list[str]] = [[line] for line in lines]
    top: list[str] = []

    for edit in edits:
        if isinstance(edit, Sub):
            line = lines[edit.line - 1]
            assert line.count(edit.old) == 1, (edit, line)
            out[edit.line - 1][0] = line.replace(edit.old, edit.new)
        elif isinstance(edit, Drop):
            out[edit.line - 1][0] = ""
        elif edit.after == 0:
            top.extend(line + eol for line in edit.lines)
        else:
            _append(out[edit.after - 1], edit.lines, eol)
    return bom + "".join(top) + "".join("".join(group) for group in out)


def _append(group: list[str], lines: tuple[str, ...], eol: str) -> None:
    if not group[-1].endswith("\n"):
        group[-1] += eol
        group.append(eol.join(lines))
    else:
        group.extend(line + eol for line in lines)
