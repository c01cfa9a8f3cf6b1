"""Parse YAML text into composed nodes that keep their source positions.

The text is split into documents at ``---`` and ``...`` lines and each
document is composed on its own, so that one unparsable document (a Go
template, say) does not hide the others. Positions of every node are
translated back to character offsets and 0-based lines of the whole text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.manifests.errors import DuplicateKey, YamlSyntaxError

BOM = "\ufeff"
_DOCUMENT_START = re.compile(r"---(?:[ \t]|\r?\n|$)")
_DOCUMENT_END = re.compile(r"\.\.\.(?:[ \t]|\r?\n|$)")
_NOT_CONTENT = re.compile(r"[ \t]*(?:#.*|%.*)?\r?\n?")


@dataclass(frozen=True)
class Document:
    """One document: its root node (None when empty) or why it did not parse."""

    number: int
    first_line: int
    offset: int
    root: Node | None
    error: YamlSyntaxError | None = None


@dataclass(frozen=True)
class Parsed:
    """A file's text (without BOM), its lines, and its parsed documents."""

    path: str
    bom: str
    text: str
    lines: tuple[str, ...]
    documents: tuple[Document, ...]

    def good_roots(self) -> Iterator[tuple[Document, Node]]:
        """Yield every document that parsed and is not empty, with its root."""
        for document in self.documents:
            if document.root is not None:
                yield document, document.root

    def errors(self) -> tuple[YamlSyntaxError, ...]:
        """Return the error of every document that did not parse."""
        return tuple(d.error for d in self.documents if d.error is not None)


def parse(text: str, path: str) -> Parsed:
    """Parse ``text``; documents that fail keep their error instead of a root."""
    bom = BOM if text.startswith(BOM) else ""
    body = text[len(bom) :]
    lines = tuple(body.splitlines(keepends=True))

    documents = []
    offset = 0
    loader = YAML(typ="rt")
    for number, (first, chunk) in enumerate(_split_documents(lines)):
        documents.append(_compose(loader, chunk, path, number, first, offset))
        offset += len(chunk)
    return Parsed(path, bom, body, lines, tuple(documents))


def _split_documents(lines: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    start, has_content = 0, False
    for number, line in enumerate(lines):
        if _DOCUMENT_START.match(line) and has_content:
            yield start, "".join(lines[start:number])
            start, has_content = number, False
        if _DOCUMENT_END.match(line):
            yield start, "".join(lines[start : number + 1])
            start, has_content = number + 1, False
        elif not _NOT_CONTENT.fullmatch(line):
            has_content = True
    if start < len(lines):
        yield start, "".join(lines[start:])


def _compose(
    loader: YAML, chunk: str, path: str, number: int, first: int, offset: int
) -> Document:
    try:
        root = loader.compose(chunk)
        if root is not None:
            ensure_unique_keys(root, path, first)
    except YamlSyntaxError as error:
        return Document(number, first, offset, None, error)
    except MarkedYAMLError as error:
        return Document(number, first, offset, None, _syntax_error(error, path, first))
    except YAMLError as error:
        message = f"{path}: YAML does not parse: {error}"
        return Document(number, first, offset, None, YamlSyntaxError(message))
    return Document(number, first, offset, root)


def _syntax_error(error: MarkedYAMLError, path: str, first: int) -> YamlSyntaxError:
    mark = error.problem_mark or error.context_mark
    problem = " ".join(str(error.problem or error.context or "").split())
    if mark is None:
        return YamlSyntaxError(f"{path}: YAML does not parse: {problem}")
    return YamlSyntaxError(
        f"{path}: YAML does not parse at line {first + mark.line + 1}, "
        f"column {mark.column + 1}: {problem}"
    )


def ensure_unique_keys(root: Node, path: str, first: int) -> None:
    """Raise DuplicateKey when any mapping under ``root`` repeats a scalar key."""
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            _ensure_unique_in(node, path, first)
            stack.extend(child for pair in node.value for child in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def _ensure_unique_in(node: MappingNode, path: str, first: int) -> None:
    lines: dict[str, int] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode):
            continue
        line = first + key.start_mark.line + 1
        if key.value in lines:
            raise DuplicateKey(
                f"{path}: duplicate key {key.value!r} in one mapping, at line "
                f"{lines[key.value]} and line {line}"
            )
        lines[key.value] = line
