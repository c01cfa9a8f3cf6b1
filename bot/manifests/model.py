"""Values passed in and out of the manifest editors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

KINDS = ("auto", "kustomize", "helm", "manifest", "argocd", "flux")


@dataclass(frozen=True)
class Target:
    """What to change: an image (repository or name), a key path or a policy.

    With ``image`` and ``key``, the repository next to the value must be
    ``image``'s. ``require_repository`` False (the deploy flow, whose key
    comes from the configuration) edits a value with no repository beside
    it and notes that instead of refusing it; a different one is refused.
    """

    kind: str = "auto"
    image: str | None = None
    key: str | None = None
    policy: str | None = None
    require_repository: bool = True


@dataclass(frozen=True)
class Request:
    """What one edit sets: a tag, a digest and (kustomize only) a new name."""

    tag: str | None = None
    digest: str | None = None
    new_name: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The version fields given, in order: "tag", "digest" or both."""
        given = (("tag", self.tag), ("digest", self.digest))
        return tuple(name for name, value in given if value)


@dataclass(frozen=True)
class Change:
    """One value changed, inserted (old "") or removed (new "").

    ``line`` is 1-based in the input; an inserted line reports the number
    it takes in the output, right after input line ``line - 1``.
    """

    path: str
    line: int
    old: str
    new: str
    action: str = "set"  # "set", "add" (a new line) or "remove" (a whole line)


@dataclass(frozen=True)
class EditResult:
    """The edited text of one file, what changed, and a unified diff."""

    path: str
    original: str
    text: str
    changes: tuple[Change, ...]
    diff: str
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """True when the text differs from the original."""
        return self.text != self.original


@dataclass(frozen=True)
class CurrentImage:
    """The tag and digest a target holds now, at a 1-based line."""

    tag: str | None
    digest: str | None
    line: int


@dataclass(frozen=True)
class Replace:
    """Put ``text`` in place of the characters ``start:end`` (one line)."""

    start: int
    end: int
    line: int
    old: str
    new: str
    text: str


@dataclass(frozen=True)
class Insert:
    """Add whole ``lines`` after 0-based line ``after`` (-1: at the top)."""

    after: int
    lines: tuple[str, ...]
    new: str


@dataclass(frozen=True)
class Delete:
    """Remove the whole 0-based line ``line`` holding the value ``old``."""

    line: int
    old: str


TextEdit = Replace | Insert | Delete
Planner = Callable[[str | None, str | None], tuple[TextEdit, ...]]


@dataclass(frozen=True)
class Site:
    """One place that holds the target image, and how to move it to a version."""

    current: CurrentImage
    plan: Planner = field(compare=False)
    note: str = ""
