"""Refusals of the manifest editors; each message names the file and line."""

from __future__ import annotations

from bot.errors import InvalidInput


class ManifestError(InvalidInput):
    """A manifest edit that cannot be made; nothing is written."""


class YamlSyntaxError(ManifestError):
    """The file is not YAML that parses (the message carries line and column)."""


class DuplicateKey(YamlSyntaxError):
    """A mapping repeats a key; the message names the key and both lines."""


class TargetNotFound(ManifestError):
    """No image, key or policy marker matches; the message lists what exists."""


class AmbiguousTarget(ManifestError):
    """The target matches more than one place where only one is allowed."""


class UnsupportedEdit(ManifestError):
    """The target exists but cannot be edited safely (alias, block scalar...)."""


class WrongTarget(ManifestError):
    """The target flags do not fit the file's kind (``--key`` for helm...)."""


class RepositoryMismatch(UnsupportedEdit):
    """The value at the key belongs to another image repository."""


class NotAnImageValue(UnsupportedEdit):
    """The value at the key is free text, not a tag, digest or image reference."""


class EditGuardError(ManifestError):
    """The spliced text differs from the original outside the intended lines."""


def found_list(found: list[str], limit: int = 10) -> str:
    """Return ``found`` as a short listing for a not-found message."""
    if not found:
        return "none"
    shown = ", ".join(found[:limit])
    more = len(found) - limit
    return f"{shown} and {more} more" if more > 0 else shown
