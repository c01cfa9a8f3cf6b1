"""Sites for values that hold part of an image: a tag, a digest, a pair.

Shared by the Helm values editor and Argo CD's ``helm.parameters``. The
form of the current value decides what changes: ``sha256:...`` takes the
digest, ``repo[:tag]`` keeps its repository, ``tag@digest`` keeps that
convention, a tag or an empty value takes the tag. Any other text (a
description, a template) is refused: it is not the image the key was
meant to name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from bot.manifests.errors import (
    NotAnImageValue,
    RepositoryMismatch,
    TargetNotFound,
    UnsupportedEdit,
)
from bot.manifests.model import CurrentImage, Site, TextEdit
from bot.manifests.nodes import line_of, lookup, text_of, value_at
from bot.manifests.references import (
    is_digest,
    is_reference,
    is_same_repository,
    is_tag,
    looks_like_reference,
    parse_reference,
    split_tag_digest,
)
from bot.manifests.splice import replace_scalar
from bot.manifests.workloads import image_site
from bot.manifests.yamltext import Document, Parsed

_DIGEST = re.compile(r"sha(256|512):[0-9a-fA-F]*")
_NULLS = ("", "~", "null", "Null", "NULL")
_PREVIEW = 40


@dataclass(frozen=True)
class RepositoryCheck:
    """The repository a value must sit beside, and whether one must be there."""

    expected: str
    required: bool = True


def scalar_site(
    parsed: Parsed,
    document: Document,
    key: Node | None,
    value: Node,
    parent: Node | None,
    repository: RepositoryCheck | None,
    *,
    label: str,
) -> Site:
    """Return the site of one scalar holding a tag, digest or reference.

    ``label`` names the value in a refusal, e.g. ``key 'image.tag'``.
    """
    text = _text(value)
    where = f"{parsed.path}:{line_of(document, value) + 1}"
    is_digest_key = text_of(key) == "digest"
    _ensure_image_value(where, label, value, is_digest_key=is_digest_key)
    if _DIGEST.fullmatch(text) or is_digest_key:
        note = _ensure_repository(where, _block_repository(parent), repository)
        site = _digest_site(parsed, document, key, value, where)
    elif looks_like_reference(text):
        reference = parse_reference(text)
        note = _ensure_repository(where, reference.repository, repository)
        site = image_site(parsed, document, key, value, reference)
    else:
        note = _ensure_repository(where, _block_repository(parent), repository)
        site = _tag_site(parsed, document, key, value, parent)
    return replace(site, note=note)


def block_site(
    parsed: Parsed,
    document: Document,
    path: str,
    block: MappingNode,
    repository: RepositoryCheck | None,
) -> Site:
    """Return the site of an image mapping: its ``tag`` and ``digest`` children."""
    where = f"{parsed.path}:{line_of(document, block) + 1}"
    note = _ensure_repository(where, _block_repository(block), repository)
    tag_node, digest_node = value_at(block, "tag"), value_at(block, "digest")
    for name, child in (("tag", tag_node), ("digest", digest_node)):
        if child is not None:
            _ensure_image_value(
                f"{parsed.path}:{line_of(document, child) + 1}",
                f"key '{path}.{name}'",
                child,
                is_digest_key=name == "digest",
            )
    current = CurrentImage(
        _text(tag_node) or None,
        _text(digest_node) or None,
        line_of(document, block) + 1,
    )

    def plan(tag: str | None, digest: str | None) -> tuple[TextEdit, ...]:
        edits: list[TextEdit] = []
        if tag:
            edits += _set_child(parsed, document, path, block, "tag", tag)
        if digest:
            edits += _set_child(parsed, document, path, block, "digest", digest)
        elif tag and tag != current.tag and current.digest:
            edits += _set_child(parsed, document, path, block, "digest", "")
        return tuple(edits)

    return Site(current, plan, note)


def _set_child(
    parsed: Parsed,
    document: Document,
    path: str,
    block: MappingNode,
    name: str,
    new: str,
) -> list[TextEdit]:
    pair = lookup(block, name)
    if pair is None:
        raise TargetNotFound(
            f"{parsed.path}:{line_of(document, block) + 1}: {path!r} has no "
            f"{name!r} key to set; it is never created"
        )
    if _text(pair[1]) == new:
        return []
    return [replace_scalar(parsed, document, pair[0], pair[1], new)]


def _digest_site(
    parsed: Parsed, document: Document, key: Node | None, value: Node, where: str
) -> Site:
    old = _text(value) or None

    def plan(tag: str | None, digest: str | None) -> tuple[TextEdit, ...]:
        if not digest:
            raise UnsupportedEdit(f"{where}: the value is a digest; pass --digest")
        if digest == old:
            return ()
        return (replace_scalar(parsed, document, key, value, digest),)

    return Site(CurrentImage(None, old, line_of(document, value) + 1), plan)


def _tag_site(
    parsed: Parsed,
    document: Document,
    key: Node | None,
    value: Node,
    parent: Node | None,
) -> Site:
    """A tag, or ``tag@digest`` in one value, or a tag with a sibling ``digest``."""
    old_tag, old_digest = split_tag_digest(_text(value))
    sibling = lookup(parent, "digest") if old_digest is None else None
    current_digest = old_digest or (_text(sibling[1]) if sibling else None) or None

    def plan(tag: str | None, digest: str | None) -> tuple[TextEdit, ...]:
        new_tag = tag or old_tag
        if not new_tag:
            raise UnsupportedEdit(
                f"{parsed.path}:{line_of(document, value) + 1}: the value holds a "
                "tag and is empty; pass --tag"
            )
        if sibling is not None:
            tag_edit = _replace_if(parsed, document, key, value, new_tag)
            if not digest and not (tag and tag != old_tag and current_digest):
                return tag_edit
            digest_edit = _replace_if(parsed, document, *sibling, digest or "")
            return tag_edit + digest_edit

        new_digest = digest or (None if tag and tag != old_tag else old_digest)
        new = f"{new_tag}@{new_digest}" if new_digest else new_tag
        return _replace_if(parsed, document, key, value, new)

    line = line_of(document, value) + 1
    return Site(CurrentImage(old_tag, current_digest, line), plan)


def _replace_if(
    parsed: Parsed, document: Document, key: Node | None, value: Node, new: str
) -> tuple[TextEdit, ...]:
    if _text(value) == new:
        return ()
    return (replace_scalar(parsed, document, key, value, new),)


def _text(node: Node | None) -> str:
    text = text_of(node)
    if text is None:
        return ""
    return "" if node.style is None and text in _NULLS else text


def _ensure_image_value(
    where: str, label: str, value: Node, *, is_digest_key: bool
) -> None:
    """Refuse a value that is no tag, digest or image reference (free text).

    Block scalars and collections pass: editing them is refused later,
    with that reason.
    """
    if not isinstance(value, ScalarNode) or value.style in ("|", ">"):
        return
    text = _text(value)
    if _is_image_value(text, is_digest_key):
        return

    if any(char.isspace() for char in text):
        reason = "it contains whitespace"
    elif not text.isprintable():
        reason = "it contains a control character"
    elif is_digest_key:
        reason = "a digest key holds sha256:<hex> or nothing"
    else:
        reason = "it does not parse as one"
    shown = text if len(text) <= _PREVIEW else text[:_PREVIEW] + "..."
    raise NotAnImageValue(
        f"{where}: {label} holds {shown!r}, which is not a tag, digest or "
        f"image reference ({reason})"
    )


def _is_image_value(text: str, is_digest_key: bool) -> bool:
    """True for an empty value, a digest, a reference, a tag or ``tag@digest``."""
    if not text or _DIGEST.fullmatch(text):
        return True
    if is_digest_key:
        return False
    if looks_like_reference(text):
        return is_reference(text)
    tag, digest = split_tag_digest(text)
    return (tag is None or is_tag(tag)) and (digest is None or is_digest(digest))


def _ensure_repository(
    where: str, actual: str | None, check: RepositoryCheck | None
) -> str:
    """Refuse a repository beside the value other than the expected one.

    Return a note when nothing beside the value names a repository and the
    check does not require one; "" when checked or not asked.
    """
    if check is None:
        return ""
    if actual is None:
        unchecked = "no repository, name or image key next to the value"
        if check.required:
            raise UnsupportedEdit(f"{where}: cannot check the repository: {unchecked}")
        return (
            f"{where}: repository not checked against {check.expected!r}: "
            f"{unchecked}; edited because the configuration names the key"
        )
    if not is_same_repository(actual, check.expected):
        raise RepositoryMismatch(
            f"{where}: the value belongs to repository {actual!r}, "
            f"not {check.expected!r}"
        )
    return ""


def _block_repository(block: Node | None) -> str | None:
    registry = _text(value_at(block, "registry"))
    for name in ("repository", "name", "image"):
        repository = _text(value_at(block, name))
        if repository:
            base = parse_reference(repository).repository
            return f"{registry}/{base}" if registry else base
    return None
