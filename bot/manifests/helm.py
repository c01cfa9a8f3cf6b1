"""Helm values (and HelmRelease ``spec.values``) at dotted key paths.

A path such as ``sidecars[0].image.tag`` points at a tag, a digest, a
``tag@digest`` pair, a whole ``repository:tag`` reference, or an image
mapping whose ``tag`` and ``digest`` children are set. Several paths may
be given, separated by commas. A path that does not exist is refused,
never created. With ``Target.image`` set, the repository next to the
value must match, so that a wrong key is refused instead of edited; when
nothing beside the value names one, ``Target.require_repository`` decides
between a refusal and an edit with a note.
"""

from __future__ import annotations

import re

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from bot.errors import InvalidInput
from bot.manifests.errors import (
    AmbiguousTarget,
    TargetNotFound,
    UnsupportedEdit,
    WrongTarget,
)
from bot.manifests.model import Site, Target
from bot.manifests.nodes import (
    entries,
    is_alias_use,
    is_scalar,
    items,
    line_of,
    lookup,
    text_of,
)
from bot.manifests.references import parse_reference
from bot.manifests.values import RepositoryCheck, block_site, scalar_site
from bot.manifests.yamltext import Document, Parsed

Step = str | int
_STEP = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def parse_key_path(path: str) -> tuple[Step, ...]:
    """Split ``a.b[0].c`` into ``("a", "b", 0, "c")``; raise on bad syntax."""
    steps: list[Step] = []
    for part in path.split("."):
        match = _STEP.fullmatch(part.strip())
        if match is None:
            raise InvalidInput(
                f"key path {path!r} is malformed at {part!r}; "
                "expected dotted keys with optional [index], e.g. sidecars[0].image.tag"
            )
        steps.append(match.group(1))
        steps.extend(int(index) for index in re.findall(r"\d+", match.group(2)))
    return tuple(steps)


def find_sites(parsed: Parsed, target: Target) -> tuple[Site, ...]:
    """Return one site per key path in ``target.key`` (comma-separated)."""
    if not target.key:
        raise WrongTarget(
            "helm values need --key DOTTED.PATH, the path of the value to set "
            "(e.g. --key image.tag)"
        )
    repository = (
        RepositoryCheck(
            parse_reference(target.image).repository, target.require_repository
        )
        if target.image
        else None
    )
    paths = [path.strip() for path in target.key.split(",") if path.strip()]
    return tuple(_site_for(parsed, path, repository) for path in paths)


def _site_for(parsed: Parsed, path: str, repository: RepositoryCheck | None) -> Site:
    steps = parse_key_path(path)
    hits, misses = [], []
    for document, root in parsed.good_roots():
        found = _resolve(parsed, document, root, steps)
        (hits if isinstance(found, tuple) else misses).append((document, found))

    if len(hits) > 1:
        lines = ", ".join(str(line_of(d, hit[1]) + 1) for d, hit in hits)
        raise AmbiguousTarget(f"{parsed.path}: key {path!r} exists at lines {lines}")
    if not hits:
        reasons = sorted({reason for _, reason in misses}, key=len)
        detail = reasons[-1] if reasons else "the file has no YAML document"
        raise TargetNotFound(f"{parsed.path}: key {path!r} not found: {detail}")

    document, (parent, key, value) = hits[0]
    if isinstance(value, MappingNode):
        return block_site(parsed, document, path, value, repository)
    return scalar_site(
        parsed, document, key, value, parent, repository, label=f"key {path!r}"
    )


def _resolve(
    parsed: Parsed, document: Document, root: Node, steps: tuple[Step, ...]
) -> tuple[Node | None, Node | None, Node] | str:
    """Return ``(parent, key, value)`` at ``steps``, or why the path stops."""
    parent: Node | None = None
    key: Node | None = None
    node = root
    walked = "the document root"
    for step in steps:
        parent = node
        if isinstance(step, int):
            if isinstance(node, MappingNode):
                return f"{walked} is a mapping, not a list; it has no [{step}]"
            children = items(node)
            if step >= len(children):
                count = len(children)
                noun = "list item" if count == 1 else "list items"
                return f"{walked} has {count} {noun}, no [{step}]"
            key, node = None, children[step]
            walked += f"[{step}]"
            continue

        if isinstance(node, SequenceNode):
            return _list_hint(walked, step)
        pair = lookup(node, step)
        if pair is None:
            keys = ", ".join(text_of(k) or "?" for k, _ in entries(node)) or "none"
            return f"{walked} has no key {step!r} (keys there: {keys})"
        key, node = pair
        _ensure_not_alias(parsed, document, key, node, step)
        walked = step if walked == "the document root" else f"{walked}.{step}"
    return parent, key, node


def _list_hint(walked: str, step: str) -> str:
    """Why a key cannot be looked up in a list, and the index form to use."""
    prefix = "" if walked == "the document root" else walked
    if step.isdigit():
        return f"{walked} is a list; use {prefix}[{step}]"
    return (
        f"{walked} is a list, not a mapping with key {step!r}; "
        f"index it, e.g. {prefix}[0]"
    )


def _ensure_not_alias(
    parsed: Parsed, document: Document, key: Node, value: Node, step: str
) -> None:
    # An aliased scalar is refused later, with the anchor's line; an aliased
    # mapping must be refused here, before its children are edited.
    if is_alias_use(key, value) and not is_scalar(value):
        raise UnsupportedEdit(
            f"{parsed.path}:{line_of(document, key) + 1}: {step!r} is an alias of "
            f"&{value.anchor} (line {line_of(document, value) + 1}); editing through "
            "it would change every other alias too; name the anchored value instead"
        )
