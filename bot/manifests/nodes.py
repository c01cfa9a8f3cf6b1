"""Walking composed YAML nodes, and where they sit in the whole text."""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.manifests.yamltext import Document

MERGE_KEY = "<<"


def line_of(document: Document, node: Node) -> int:
    """Return the 0-based line of the whole text where ``node`` starts."""
    return document.first_line + node.start_mark.line


def span_of(document: Document, node: Node) -> tuple[int, int]:
    """Return the character offsets ``start, end`` of ``node`` in the text."""
    return (
        document.offset + node.start_mark.index,
        document.offset + node.end_mark.index,
    )


def last_line_of(document: Document, node: Node) -> int:
    """Return the 0-based last line holding ``node``'s own text."""
    if isinstance(node, ScalarNode):
        mark = node.end_mark
        ends_at_next_line = node.style in ("|", ">") and mark.column == 0
        return document.first_line + mark.line - (1 if ends_at_next_line else 0)
    if node.flow_style or not node.value:
        return document.first_line + node.end_mark.line
    last = node.value[-1]
    if isinstance(node, MappingNode):
        key, value = last
        is_empty = isinstance(value, ScalarNode) and value.value == ""
        return last_line_of(document, key if is_empty else value)
    return last_line_of(document, last)


def is_scalar(node: Node | None) -> bool:
    """True when ``node`` is a scalar node."""
    return isinstance(node, ScalarNode)


def text_of(node: Node | None) -> str | None:
    """Return a scalar's string value, or None for anything else."""
    return node.value if isinstance(node, ScalarNode) else None


def entries(node: Node | None) -> list[tuple[Node, Node]]:
    """Return a mapping's own ``(key, value)`` pairs (merge keys excluded)."""
    if not isinstance(node, MappingNode):
        return []
    return [(k, v) for k, v in node.value if text_of(k) != MERGE_KEY]


def items(node: Node | None) -> list[Node]:
    """Return a sequence's items, or an empty list for anything else."""
    return list(node.value) if isinstance(node, SequenceNode) else []


def lookup(node: Node | None, key: str) -> tuple[Node, Node] | None:
    """Return the ``(key, value)`` pair for ``key``, following merge keys."""
    if not isinstance(node, MappingNode):
        return None
    for key_node, value in node.value:
        if text_of(key_node) == key:
            return key_node, value
    for key_node, value in node.value:
        if text_of(key_node) != MERGE_KEY:
            continue
        for merged in items(value) or [value]:
            found = lookup(merged, key)
            if found is not None:
                return found
    return None


def value_at(node: Node | None, key: str) -> Node | None:
    """Return the value of ``key`` in a mapping, or None."""
    found = lookup(node, key)
    return found[1] if found else None


def is_alias_use(key: Node, value: Node) -> bool:
    """True when ``value`` is an alias: its text sits before its own key."""
    return value.start_mark.index < key.start_mark.index


def walk(node: Node) -> Iterator[Node]:
    """Yield ``node`` and every node below it once (aliases not repeated)."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, MappingNode):
            stack.extend(child for pair in reversed(current.value) for child in pair)
        elif isinstance(current, SequenceNode):
            stack.extend(reversed(current.value))
