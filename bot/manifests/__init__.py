"""Manifest editing: change one image reference, byte for byte nothing else.

The public API of the editors; every function is pure (text in, text out).
"""

from __future__ import annotations

from bot.manifests.detect import detect_kind
from bot.manifests.engine import edit, find_current
from bot.manifests.errors import (
    AmbiguousTarget,
    DuplicateKey,
    EditGuardError,
    ManifestError,
    TargetNotFound,
    UnsupportedEdit,
    YamlSyntaxError,
)
from bot.manifests.model import Change, CurrentImage, EditResult, Target
from bot.manifests.references import validate_digest, validate_tag

__all__ = [
    "AmbiguousTarget",
    "Change",
    "CurrentImage",
    "DuplicateKey",
    "EditGuardError",
    "EditResult",
    "ManifestError",
    "Target",
    "TargetNotFound",
    "UnsupportedEdit",
    "YamlSyntaxError",
    "detect_kind",
    "edit",
    "find_current",
    "validate_digest",
    "validate_tag",
]
