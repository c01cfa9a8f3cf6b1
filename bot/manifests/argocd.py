"""Argo CD Application, ApplicationSet and ``.argocd-source*.yaml`` overrides.

``kustomize.images`` holds strings ``[alias=]repository[:tag][@digest]``;
the target is the alias, or the repository when there is none.
``helm.parameters`` holds ``{name, value}`` entries; the target is the
parameter name and its value changes. Both are found at any depth, so an
ApplicationSet template and a multi-source Application work alike.
"""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node

from bot.manifests.errors import (
    TargetNotFound,
    UnsupportedEdit,
    WrongTarget,
    found_list,
)
from bot.manifests.model import CurrentImage, Site, Target, TextEdit
from bot.manifests.nodes import (
    is_scalar,
    items,
    line_of,
    lookup,
    text_of,
    value_at,
    walk,
)
from bot.manifests.references import is_same_repository, parse_reference, rebase
from bot.manifests.splice import replace_scalar
from bot.manifests.values import scalar_site
from bot.manifests.yamltext import Document, Parsed


def find_sites(parsed: Parsed, target: Target) -> tuple[Site, ...]:
    """Return the sites of a kustomize image (--image) or helm parameter (--key)."""
    if target.key and target.image and target.require_repository:
        raise WrongTarget(
            "--image with --key checks the repository beside a Helm value; "
            "a helm.parameters value has none beside it: drop --image"
        )
    if target.key:
        return _parameter_sites(parsed, target.key)
    if target.image:
        return _image_sites(parsed, target.image)
    raise WrongTarget("Argo CD files need --image NAME or --key PARAMETER")


def _sections(
    parsed: Parsed, section: str, field: str
) -> Iterator[tuple[Document, Node]]:
    """Yield each item of ``<section>.<field>`` lists found at any depth."""
    for document, root in parsed.good_roots():
        for node in walk(root):
            if isinstance(node, MappingNode):
                for item in items(value_at(value_at(node, section), field)):
                    yield document, item


def _image_sites(parsed: Parsed, name: str) -> tuple[Site, ...]:
    sites: list[Site] = []
    found: list[str] = []
    for document, item in _sections(parsed, "kustomize", "images"):
        if not is_scalar(item):
            continue
        found.append(f"{item.value} (line {line_of(document, item) + 1})")
        alias, _, reference = item.value.rpartition("=")
        repository = parse_reference(reference).repository
        if alias == name or (not alias and is_same_repository(repository, name)):
            sites.append(_image_site(parsed, document, item, alias))

    if not sites:
        raise TargetNotFound(
            f"{parsed.path}: no kustomize.images entry for {name!r}; "
            f"entries found: {found_list(found)}"
        )
    return tuple(sites)


def _image_site(parsed: Parsed, document: Document, item: Node, alias: str) -> Site:
    prefix = f"{alias}=" if alias else ""
    old = parse_reference(item.value[len(prefix) :])

    def plan(tag: str | None, digest: str | None) -> tuple[TextEdit, ...]:
        new = prefix + str(rebase(old, tag, digest))
        if new == item.value:
            return ()
        return (replace_scalar(parsed, document, None, item, new),)

    return Site(CurrentImage(old.tag, old.digest, line_of(document, item) + 1), plan)


def _parameter_sites(parsed: Parsed, name: str) -> tuple[Site, ...]:
    sites: list[Site] = []
    found: list[str] = []
    for document, parameter in _sections(parsed, "helm", "parameters"):
        parameter_name = text_of(value_at(parameter, "name"))
        found.append(f"{parameter_name} (line {line_of(document, parameter) + 1})")
        if parameter_name != name:
            continue
        pair = lookup(parameter, "value")
        if pair is None:
            raise UnsupportedEdit(
                f"{parsed.path}:{line_of(document, parameter) + 1}: parameter "
                f"{name!r} has no value key"
            )
        sites.append(
            scalar_site(
                parsed, document, *pair, parameter, None, label=f"parameter {name!r}"
            )
        )

    if not sites:
        raise TargetNotFound(
            f"{parsed.path}: no helm.parameters entry named {name!r}; "
            f"parameters found: {found_list(found)}"
        )
    return tuple(sites)
