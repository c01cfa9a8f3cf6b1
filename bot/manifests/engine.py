"""The editing pipeline: validate, parse, locate the target, splice, guard."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from bot.errors import InvalidInput
from bot.manifests import argocd, flux, helm, kustomize, workloads
from bot.manifests.detect import FALLBACK, LOOKED_FOR, Detected, resolve
from bot.manifests.errors import TargetNotFound, WrongTarget
from bot.manifests.model import CurrentImage, EditResult, Request, Site, Target
from bot.manifests.references import (
    validate_digest,
    validate_repository,
    validate_tag,
)
from bot.manifests.splice import apply, to_changes, unified_diff
from bot.manifests.yamltext import Parsed, parse

SiteFinder = Callable[[Parsed, Target], tuple[Site, ...]]

FINDERS: dict[str, SiteFinder] = {
    "kustomize": kustomize.find_sites,
    "helm": helm.find_sites,
    "manifest": workloads.find_sites,
    "argocd": argocd.find_sites,
    "flux": flux.find_sites,
}


def edit(
    text: str,
    path: str,
    target: Target,
    *,
    tag: str | None = None,
    digest: str | None = None,
    new_name: str | None = None,
) -> EditResult:
    """Return ``text`` with the target moved to ``tag`` and/or ``digest``.

    ``new_name`` (kustomize only) also sets the entry's ``newName``, the
    repository kustomize substitutes for the image's name.

    Raises ManifestError (an InvalidInput) when the request or the file
    does not allow a safe edit; a target already current is a no-op.
    """
    if tag is None and digest is None and new_name is None:
        raise InvalidInput(
            "nothing to set: give a tag, a digest or both (kustomize: or a new name)"
        )
    tag = validate_tag(tag) if tag is not None else None
    digest = validate_digest(digest) if digest is not None else None
    new_name = validate_repository(new_name) if new_name is not None else None

    parsed = parse(text, path)
    sites = _locate(parsed, target, Request(tag, digest, new_name))
    edits = tuple(edit for site in sites for edit in site.plan(tag, digest))
    new_text = apply(parsed, edits) if edits else text

    return EditResult(
        path=path,
        original=text,
        text=new_text,
        changes=to_changes(path, edits),
        diff=unified_diff(path, text, new_text),
        skipped=tuple(str(error) for error in parsed.errors()),
        notes=tuple(site.note for site in sites if site.note),
    )


def find_current(text: str, path: str, target: Target) -> tuple[CurrentImage, ...]:
    """Return the tag and digest the target holds now, one per place."""
    return tuple(site.current for site in _locate(parse(text, path), target))


def _locate(
    parsed: Parsed, target: Target, request: Request | None = None
) -> tuple[Site, ...]:
    """The sites of ``target``; with a ``request``, checked against what it sets."""
    ensure_some_document_parses(parsed)
    detected = resolve(parsed, target)
    kind = detected.kind
    if kind not in FINDERS:
        raise InvalidInput(
            f"unknown kind {kind!r}; expected one of {', '.join(FINDERS)}"
        )
    finder = _finder(parsed, detected, request)
    if not parsed.lines:
        raise TargetNotFound(f"{parsed.path}: the file is empty")

    try:
        return finder(parsed, target)
    except WrongTarget as error:
        raise WrongTarget(f"{parsed.path}: {error}{_why(detected, target)}") from None
    except TargetNotFound as not_found:
        # A document that did not parse may be where the target was meant
        # to be: its syntax error says more than "not found".
        errors = parsed.errors()
        if not errors:
            raise
        if any(True for _ in parsed.good_roots()):
            raise type(errors[0])(
                f"{errors[0]}; the other documents parse but {not_found}"
            ) from None
        raise errors[0] from None


def ensure_some_document_parses(parsed: Parsed) -> None:
    """Raise the first syntax error when no document of the file parses.

    Detection reads only parsed documents: without this, a file that is
    not YAML would be refused for flags that do not fit the fallback kind.
    """
    errors = parsed.errors()
    if errors and not any(True for _ in parsed.good_roots()):
        raise errors[0]


def _why(detected: Detected, target: Target) -> str:
    """How the kind was chosen, for a refusal of flags that do not fit it."""
    if target.kind != "auto":
        return f" (kind {detected.kind} from {detected.reason})"
    if detected == FALLBACK:
        return (
            f"; the file was taken as Helm values because {LOOKED_FOR}; "
            "for another kind of file, pass --kind"
        )
    return f" (kind {detected.kind} from {detected.reason}; --kind chooses another)"


def _finder(parsed: Parsed, detected: Detected, request: Request | None) -> SiteFinder:
    """The kind's site finder, given the request's fields where it uses them."""
    kind = detected.kind
    if request is None:
        return FINDERS[kind]
    if request.new_name is not None and kind != "kustomize":
        raise InvalidInput(
            f"{parsed.path}: a new image name (--new-name) is a kustomize images "
            f"field; this file is {kind} (from {detected.reason})"
        )
    if kind == "kustomize":
        return partial(kustomize.find_sites, new_name=request.new_name)
    if kind == "flux":
        return partial(flux.find_sites, requested=request.fields)
    return FINDERS[kind]
