"""Container images in plain Kubernetes workload manifests.

Every ``image`` of containers, initContainers and ephemeralContainers in
Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
Job and CronJob documents, and in such workloads among the ``items:`` of
a ``List`` document, whose repository is the target (compared whole, after
Docker's normalisation) moves to the new tag and/or digest. Text in block
scalars is data and never seen here: only the structure is walked.
"""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import Node

from bot.errors import InvalidInput
from bot.manifests.detect import workloads_in
from bot.manifests.errors import TargetNotFound, WrongTarget, found_list
from bot.manifests.model import CurrentImage, Site, Target, TextEdit
from bot.manifests.nodes import is_scalar, items, line_of, lookup, value_at
from bot.manifests.references import (
    Reference,
    is_same_repository,
    parse_reference,
    rebase,
)
from bot.manifests.splice import replace_scalar
from bot.manifests.yamltext import Document, Parsed

POD_TEMPLATE = ("spec", "template", "spec")
POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "CronJob": ("spec", "jobTemplate", *POD_TEMPLATE),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def find_sites(parsed: Parsed, target: Target) -> tuple[Site, ...]:
    """Return one site per container image of the target repository."""
    repository = target_repository(target)
    sites: list[Site] = []
    found: list[str] = []
    seen: set[int] = set()

    for document, key, value in _container_images(parsed):
        found.append(f"{value.value} (line {line_of(document, value) + 1})")
        reference = parse_reference(value.value)
        if id(value) in seen or not is_same_repository(
            reference.repository, repository
        ):
            continue
        seen.add(id(value))
        sites.append(image_site(parsed, document, key, value, reference))

    if not sites:
        raise TargetNotFound(
            f"{parsed.path}: image {repository!r} not found in any container; "
            f"container images found: {found_list(found)}"
        )
    return tuple(sites)


def target_repository(target: Target) -> str:
    """Return ``target.image`` as a repository; refuse a tag or digest in it."""
    if not target.image:
        raise WrongTarget("manifests need --image REPOSITORY")
    reference = parse_reference(target.image)
    if reference.tag or reference.digest:
        raise InvalidInput(
            f"--image {target.image!r} must name a repository only; "
            "pass the tag with --tag and the digest with --digest"
        )
    return reference.repository


def _container_images(parsed: Parsed) -> Iterator[tuple[Document, Node, Node]]:
    """Yield the document, key and scalar value of every container image."""
    for document, root in parsed.good_roots():
        for kind, workload in workloads_in(root):
            spec: Node | None = workload
            for step in POD_SPEC_PATHS.get(kind, POD_TEMPLATE):
                spec = value_at(spec, step)
            for list_name in CONTAINER_LISTS:
                for container in items(value_at(spec, list_name)):
                    pair = lookup(container, "image")
                    if pair is not None and is_scalar(pair[1]):
                        yield document, pair[0], pair[1]


def image_site(
    parsed: Parsed, document: Document, key: Node | None, value: Node, old: Reference
) -> Site:
    """Return the site of one whole image reference held in a scalar."""
    line = line_of(document, value) + 1

    def plan(tag: str | None, digest: str | None) -> tuple[TextEdit, ...]:
        new = str(rebase(old, tag, digest))
        if new == value.value:
            return ()
        return (replace_scalar(parsed, document, key, value, new),)

    return Site(CurrentImage(old.tag, old.digest, line), plan)
