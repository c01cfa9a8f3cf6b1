"""Image references: validation, parsing, Docker normalisation, rewriting.

A reference is ``[registry[:port]/]path[:tag][@algorithm:hex]``. Docker
Hub names are normalised the way Docker does it: ``nginx``,
``library/nginx`` and ``docker.io/library/nginx`` are one repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import InvalidInput

TAG_GRAMMAR = "[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
_TAG = re.compile(TAG_GRAMMAR)
_TAG_CHAR = re.compile(r"[A-Za-z0-9._-]")
_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
# A digest as files hold it: the algorithm is checked, the hex is not
# (validate_digest checks what we write).
_DIGEST_SHAPE = re.compile(r"sha(256|512):[0-9a-fA-F]+")
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")
# The distribution reference grammar's name: [host[:port]/]component(/component)*
_HOST_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = re.compile(rf"{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]+)?")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference; ``repository`` keeps the file's spelling."""

    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        """Return the reference as ``repository[:tag][@digest]``."""
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def validate_tag(tag: str) -> str:
    """Return ``tag`` when it follows the OCI tag grammar, else raise InvalidInput."""
    if not tag:
        raise InvalidInput("tag is empty")
    if len(tag) > 128:
        raise InvalidInput(f"tag is {len(tag)} characters long; at most 128 allowed")
    if _TAG.fullmatch(tag):
        return tag

    position, char = _first_bad_tag_char(tag)
    raise InvalidInput(
        f"tag {tag!r} is not a valid OCI tag: {char!r} at position {position} "
        f"is not allowed (grammar {TAG_GRAMMAR})"
    )


def _first_bad_tag_char(tag: str) -> tuple[int, str]:
    if tag[0] in ".-":
        return 0, tag[0]
    for position, char in enumerate(tag):
        if not _TAG_CHAR.fullmatch(char):
            return position, char
    return 0, tag[0]


def validate_digest(digest: str) -> str:
    """Return ``digest`` when it is ``sha256:<64 hex>`` (or sha512), else raise."""
    algorithm, colon, encoded = digest.partition(":")
    if not colon or not algorithm or not encoded:
        raise InvalidInput(f"digest {digest!r} is not of the form algorithm:hex")
    if algorithm not in _HEX_LENGTHS:
        raise InvalidInput(
            f"digest {digest!r} uses algorithm {algorithm!r}; "
            f"expected one of {', '.join(sorted(_HEX_LENGTHS))}"
        )

    length = _HEX_LENGTHS[algorithm]
    if len(encoded) != length or not re.fullmatch("[0-9a-f]+", encoded):
        raise InvalidInput(
            f"digest {digest!r} is malformed: {algorithm} needs exactly {length} "
            f"lowercase hex digits, got {len(encoded)} characters"
        )
    return digest


def validate_repository(name: str) -> str:
    """Return ``name`` when it is a repository with no tag or digest, else raise."""
    if not name:
        raise InvalidInput("image repository is empty")
    if any(char.isspace() or not char.isprintable() for char in name):
        raise InvalidInput(
            f"image repository {name!r} contains whitespace or control characters"
        )
    if "@" in name:
        raise InvalidInput(
            f"image repository {name!r} carries a digest; pass it with --digest"
        )
    reference = parse_reference(name)
    if reference.tag is not None or name.endswith(":"):
        raise InvalidInput(
            f"image repository {name!r} carries a tag after its last ':'; "
            "pass the tag with --tag"
        )
    if len(name) > 255:
        raise InvalidInput(
            f"image repository is {len(name)} characters long; at most 255 allowed"
        )
    if not _is_repository_name(name):
        raise InvalidInput(
            f"image repository {name!r} is not a valid name: an optional "
            "registry host[:port]/, then '/'-separated lower-case components of "
            "letters and digits joined by '.', '_', '__' or '-'"
        )
    return name


def _is_repository_name(name: str) -> bool:
    first, slash, rest = name.partition("/")
    if slash and _is_registry(first):
        return bool(_HOST.fullmatch(first) and _PATH.fullmatch(rest))
    return bool(_PATH.fullmatch(name))


def _is_registry(first: str) -> bool:
    """True when a name's first component is a registry host (Docker's rule)."""
    return "." in first or ":" in first or first == "localhost"


def parse_reference(text: str) -> Reference:
    """Split ``text`` into repository, tag and digest (no validation)."""
    name, _, digest = text.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return Reference(name[:colon], name[colon + 1 :] or None, digest or None)
    return Reference(name, None, digest or None)


def normalise(repository: str) -> str:
    """Return the fully qualified form of ``repository`` (Docker's rules)."""
    first, slash, rest = repository.partition("/")
    has_registry = slash and _is_registry(first)
    if not has_registry:
        first, rest = "docker.io", repository
    first = first.lower()
    if first in _DOCKER_HUB:
        first = "docker.io"
        if "/" not in rest:
            rest = f"library/{rest}"
    return f"{first}/{rest}"


def is_same_repository(left: str, right: str) -> bool:
    """True when both names denote one repository after normalisation."""
    return normalise(left) == normalise(right)


def is_tag(text: str) -> bool:
    """True when ``text`` follows the OCI tag grammar."""
    return bool(_TAG.fullmatch(text))


def is_digest(text: str) -> bool:
    """True when ``text`` is shaped ``sha256:<hex>`` or ``sha512:<hex>``."""
    return bool(_DIGEST_SHAPE.fullmatch(text))


def is_reference(text: str) -> bool:
    """True when ``text`` parses as ``repository[:tag][@digest]``, each valid."""
    reference = parse_reference(text)
    return (
        _is_repository_name(reference.repository)
        and (reference.tag is None or is_tag(reference.tag))
        and (reference.digest is None or is_digest(reference.digest))
    )


def looks_like_reference(value: str) -> bool:
    """True when ``value`` names a repository rather than a bare tag."""
    name = value.partition("@")[0]
    return "/" in name or ":" in name


def rebase(old: Reference, tag: str | None, digest: str | None) -> Reference:
    """Return ``old`` moved to ``tag`` and/or ``digest``, repository kept.

    A new tag without a digest drops the old digest: left in place it
    would keep the old image running. The same tag keeps its digest.
    """
    new_tag = tag or old.tag
    if digest:
        return Reference(old.repository, new_tag, digest)
    if tag and tag != old.tag:
        return Reference(old.repository, new_tag, None)
    return Reference(old.repository, new_tag, old.digest)


def split_tag_digest(value: str) -> tuple[str | None, str | None]:
    """Split a ``tag@digest``, ``tag`` or ``algorithm:hex`` value."""
    if "@" in value:
        tag, _, digest = value.partition("@")
        return tag or None, digest or None
    if re.fullmatch(r"sha(256|512):[0-9a-fA-F]*", value):
        return None, value
    return value or None, None
