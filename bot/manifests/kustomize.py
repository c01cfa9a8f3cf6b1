"""Kustomize ``images:`` entries, with ``kustomize edit set image`` semantics.

The entry whose ``name`` (or else ``newName``) equals the target gets
``newTag``, ``digest`` and, when asked, ``newName``; failing that, the one
entry naming the same repository after Docker normalisation (``nginx`` for
``docker.io/library/nginx``). A missing field is inserted in kustomize's
field order, a missing entry is appended to the list, and a missing
``images:`` is added at the end of the document, each in the file's own
list style; the name of an entry to add must be a valid repository. A
new tag without a digest removes a stale ``digest``: kustomize would pin
the old image by it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from bot.errors import InvalidInput
from bot.manifests.errors import (
    AmbiguousTarget,
    ManifestError,
    TargetNotFound,
    UnsupportedEdit,
    WrongTarget,
)
from bot.manifests.model import CurrentImage, Delete, Insert, Site, Target, TextEdit
from bot.manifests.nodes import (
    entries,
    items,
    last_line_of,
    line_of,
    lookup,
    text_of,
    value_at,
)
from bot.manifests.references import (
    Reference,
    is_reference,
    is_same_repository,
    parse_reference,
    validate_repository,
)
from bot.manifests.splice import render, replace_scalar
from bot.manifests.yamltext import Document, Parsed

FIELD_ORDER = ("name", "newName", "newTag", "digest")


def find_sites(
    parsed: Parsed, target: Target, new_name: str | None = None
) -> tuple[Site, ...]:
    """Return the one site for ``target.image``: its entry, or where to add it.

    ``new_name`` (a validated repository) is also set as the entry's
    ``newName``, or written in a new entry.
    """
    name = target.image
    if not name:
        raise WrongTarget("kustomize files need --image NAME")
    document, root = _kustomization(parsed)

    found = lookup(root, "images")
    if found is None or text_of(found[1]) == "":
        new = NewEntry(_ensure_image_name(parsed, name), new_name)
        return (_new_images_site(parsed, document, root, found, new),)
    images = found[1]
    if not isinstance(images, SequenceNode) or images.flow_style:
        raise UnsupportedEdit(
            f"{parsed.path}:{line_of(document, images) + 1}: images is not a "
            "block list; edit it by hand"
        )

    matches = _matching_entries(images, lambda text: text == name)
    if not matches:
        # `docker.io/library/nginx` is the entry named `nginx`, not a new one.
        _ensure_image_name(parsed, name)
        same = partial(is_same_repository, name)
        matches = _matching_entries(images, same)
    if len(matches) > 1:
        lines = ", ".join(str(line_of(document, entry) + 1) for entry in matches)
        raise AmbiguousTarget(
            f"{parsed.path}: image {name!r} matches entries at lines {lines}"
        )
    if matches:
        return (_entry_site(parsed, document, matches[0], new_name),)
    return (_append_site(parsed, document, images, NewEntry(name, new_name)),)


def _ensure_image_name(parsed: Parsed, name: str) -> str:
    """Return ``name`` when it can name a new entry; else say what to pass.

    An entry is added only for a repository: a reference with a tag or a
    digest, or text with spaces, would become a ``name`` no image has.
    """
    reference = parse_reference(name)
    try:
        return validate_repository(name)
    except InvalidInput as error:
        if is_reference(name) and (reference.tag or reference.digest):
            raise ManifestError(
                f"{parsed.path}: --image {name!r} carries a "
                f"{_version_of(reference)}; pass the repository and the version "
                f"apart: {_split_flags(reference)}"
            ) from None
        raise ManifestError(
            f"{parsed.path}: --image {name!r} is not an image repository, so no "
            f"images entry can be added for it ({error}); pass a repository such "
            "as --image registry.example.com/shop/api"
        ) from None


def _version_of(reference: Reference) -> str:
    given = [("tag", reference.tag), ("digest", reference.digest)]
    return " and a ".join(field for field, value in given if value)


def _split_flags(reference: Reference) -> str:
    flags = f"--image {reference.repository}"
    if reference.tag:
        flags += f" --tag {reference.tag}"
    if reference.digest:
        flags += f" --digest {reference.digest}"
    return flags


def _kustomization(parsed: Parsed) -> tuple[Document, MappingNode]:
    """The one document of a kustomization; a second one is refused."""
    present = [d for d in parsed.documents if d.root is not None or d.error]
    if len(present) > 1:
        lines = ", ".join(str(d.first_line + 1) for d in present)
        raise UnsupportedEdit(
            f"{parsed.path}: a kustomization is one YAML document; this file has "
            f"{len(present)} (starting at lines {lines}); split it, or pass --kind "
            "for the kind of file it is"
        )
    for document, root in parsed.good_roots():
        if isinstance(root, MappingNode):
            return document, root
    errors = parsed.errors()
    if errors:
        raise errors[0]
    raise TargetNotFound(f"{parsed.path}: no kustomization mapping in the file")


def _matching_entries(
    images: SequenceNode, matches_name: Callable[[str], bool]
) -> list[Node]:
    """The entries whose ``name`` matches, or else those whose ``newName`` does."""
    for field in ("name", "newName"):
        matches = [
            entry
            for entry in items(images)
            if (text := text_of(value_at(entry, field))) and matches_name(text)
        ]
        if matches:
            return matches
    return []


def _entry_site(
    parsed: Parsed, document: Document, entry: Node, new_name: str | None
) -> Site:
    if not isinstance(entry, MappingNode):
        raise UnsupportedEdit(
            f"{parsed.path}:{line_of(document, entry) + 1}: the images entry is not "
            "a mapping; edit it by hand"
        )
    current = CurrentImage(
        text_of(value_at(entry, "newTag")) or None,
        text_of(value_at(entry, "digest")) or None,
        line_of(document, entry) + 1,
    )

    def plan(tag: str | None, digest: str | None) -> tuple[TextEdit, ...]:
        edits: list[TextEdit] = []
        if new_name:
            edits += _set_field(parsed, document, entry, "newName", new_name)
        if tag:
            edits += _set_field(parsed, document, entry, "newTag", tag)
        if digest:
            edits += _set_field(parsed, document, entry, "digest", digest)
        elif tag and tag != current.tag and current.digest:
            edits.append(_drop_digest(parsed, document, entry))
        return tuple(edits)

    return Site(current, plan)


def _set_field(
    parsed: Parsed, document: Document, entry: MappingNode, field: str, value: str
) -> list[TextEdit]:
    found = lookup(entry, field)
    if found is not None:
        if text_of(found[1]) == value:
            return []
        return [replace_scalar(parsed, document, found[0], found[1], value)]

    if entry.flow_style:
        raise UnsupportedEdit(
            f"{parsed.path}:{line_of(document, entry) + 1}: cannot add {field} to a "
            "flow-style entry without reformatting it; add it by hand"
        )
    earlier = FIELD_ORDER[: FIELD_ORDER.index(field)]
    before = [(k, v) for k, v in entries(entry) if text_of(k) in earlier]
    key, after_value = (before or entries(entry))[-1]
    line = f"{' ' * key.start_mark.column}{field}: {render(None, value)}"
    return [Insert(last_line_of(document, after_value), (line,), value)]


def _drop_digest(parsed: Parsed, document: Document, entry: MappingNode) -> Delete:
    key, value = lookup(entry, "digest") or (None, None)
    line = line_of(document, key)
    if line == line_of(document, entry) or last_line_of(document, value) != line:
        raise UnsupportedEdit(
            f"{parsed.path}:{line + 1}: the stale digest shares its line with "
            "another field; pass --digest as well, or remove it by hand"
        )
    return Delete(line, text_of(value) or "")


@dataclass(frozen=True)
class NewEntry:
    """The ``name`` and optional ``newName`` of an entry to add."""

    name: str
    new_name: str | None = None


def _entry_lines(
    indent: int, new: NewEntry, tag: str | None, digest: str | None
) -> tuple[str, ...]:
    pad = " " * indent
    lines = [f"{pad}- name: {render(None, new.name)}"]
    if new.new_name:
        lines.append(f"{pad}  newName: {render(None, new.new_name)}")
    if tag:
        lines.append(f"{pad}  newTag: {render(None, tag)}")
    if digest:
        lines.append(f"{pad}  digest: {render(None, digest)}")
    return tuple(lines)


def _append_site(
    parsed: Parsed, document: Document, images: SequenceNode, new: NewEntry
) -> Site:
    after = last_line_of(document, images)
    indent = images.start_mark.column

    def plan(tag: str | None, digest: str | None) -> tuple[TextEdit, ...]:
        return (Insert(after, _entry_lines(indent, new, tag, digest), new.name),)

    return Site(CurrentImage(None, None, after + 2), plan)


def _new_images_site(
    parsed: Parsed,
    document: Document,
    root: MappingNode,
    found: tuple[Node, Node] | None,
    new: NewEntry,
) -> Site:
    if root.flow_style:
        raise UnsupportedEdit(f"{parsed.path}: the kustomization is a flow mapping")
    column = root.start_mark.column
    indent = column + _list_indent(root)
    header: tuple[str, ...] = () if found else (f"{' ' * column}images:",)
    after = line_of(document, found[0]) if found else last_line_of(document, root)

    def plan(tag: str | None, digest: str | None) -> tuple[TextEdit, ...]:
        lines = header + _entry_lines(indent, new, tag, digest)
        return (Insert(after, lines, new.name),)

    return Site(CurrentImage(None, None, after + 2), plan)


def _list_indent(root: MappingNode) -> int:
    """Return how far the file indents ``-`` under its key (0 when flush)."""
    for key, value in entries(root):
        is_block = isinstance(value, SequenceNode) and not value.flow_style
        if is_block and value.start_mark.line > key.start_mark.line:
            return value.start_mark.column - key.start_mark.column
    return 0
