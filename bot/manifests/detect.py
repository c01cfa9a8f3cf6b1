"""Which editor a file needs: its content first, then its name, then its shape.

The content is the documents' ``apiVersion``/``kind`` (a Flux
``Kustomization``, whose apiVersion is Flux's, is not a kustomization; a
workload among the ``items:`` of a ``List`` counts as one); the name is
``kustomization.yaml`` or ``.argocd-source*``; the shape is a top ``images:``
list of name/newTag entries, or a Flux setter comment.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from ruamel.yaml.nodes import Node, SequenceNode

from bot.manifests.model import Target
from bot.manifests.nodes import items, text_of, value_at
from bot.manifests.yamltext import Parsed, parse

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
WORKLOAD_KINDS = frozenset(
    {
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
    }
)
ARGOCD_KINDS = frozenset({"Application", "ApplicationSet"})
POLICY_MARKER = '"$imagepolicy"'
KUSTOMIZE_API = "kustomize.config.k8s.io/"


@dataclass(frozen=True)
class Detected:
    """The editor kind of a file, and what in the file decided it."""

    kind: str
    reason: str


FALLBACK = Detected("helm", "no sign of another kind")
# What detection looks for, for the message when it finds none of it.
LOOKED_FOR = (
    "nothing in it marks another kind: no apiVersion/kind of a kustomization, "
    "a workload or an Argo CD Application, no top-level images: list of "
    f"name/newTag entries, no {POLICY_MARKER} comment, and its name is not "
    "kustomization.yaml or .argocd-source*"
)


def detect_kind(text: str, path: str) -> str:
    """Return the editor kind for a file: kustomize, helm, manifest, argocd, flux."""
    return kind_of(parse(text, path))


def kind_of(parsed: Parsed) -> str:
    """Return the editor kind for parsed text (see ``detect``)."""
    return detect(parsed).kind


def detect(parsed: Parsed) -> Detected:
    """The kind from the content's apiVersion/kind, then the name, then shape."""
    return _by_content(parsed) or _by_name(parsed) or _by_structure(parsed) or FALLBACK


def resolve_kind(parsed: Parsed, target: Target) -> str:
    """Return the target's kind, detecting it when ``auto``."""
    return resolve(parsed, target).kind


def resolve(parsed: Parsed, target: Target) -> Detected:
    """The target's kind and why: given, implied by the flags, or detected."""
    if target.kind != "auto":
        return Detected(target.kind, f"--kind {target.kind}")
    if target.policy:
        return Detected("flux", "--policy names a Flux image policy")
    detected = detect(parsed)
    if target.key and detected.kind in ("kustomize", "manifest", "flux"):
        return Detected("helm", "--key names a values path")
    return detected


def _by_content(parsed: Parsed) -> Detected | None:
    for _, root in parsed.good_roots():
        api = text_of(value_at(root, "apiVersion")) or ""
        kind = text_of(value_at(root, "kind")) or ""
        if api.startswith(KUSTOMIZE_API):
            return Detected("kustomize", f"apiVersion {api}")
        if kind == "Kustomization" and not api:
            return Detected("kustomize", "kind Kustomization")
        if kind in ARGOCD_KINDS:
            return Detected("argocd", f"kind {kind}")
    for _, root in parsed.good_roots():
        first = next(workloads_in(root), None)
        if first is None:
            continue
        kind, workload = first
        if workload is not root:
            kind += f" in the items of a {text_of(value_at(root, 'kind'))}"
        return Detected("manifest", f"kind {kind}")
    return None


def workloads_in(root: Node) -> Iterator[tuple[str, Node]]:
    """Yield ``(kind, node)`` for the workload a document is or its list holds.

    A ``List`` (``kubectl get -o yaml``) or a typed list such as
    ``DeploymentList`` holds its objects in ``items:``. The API server
    leaves ``kind`` out of a typed list's items, so an item without one
    takes the list's kind less ``List``. Lists in lists are not searched.
    """
    kind = text_of(value_at(root, "kind")) or ""
    if kind in WORKLOAD_KINDS:
        yield kind, root
    elif kind.endswith("List"):
        implied = kind.removesuffix("List")
        for item in items(value_at(root, "items")):
            item_kind = text_of(value_at(item, "kind")) or implied
            if item_kind in WORKLOAD_KINDS:
                yield item_kind, item


def _by_name(parsed: Parsed) -> Detected | None:
    name = posixpath.basename(parsed.path.replace("\\", "/"))
    if name in KUSTOMIZATION_NAMES:
        return Detected("kustomize", f"file name {name}")
    if name.startswith(".argocd-source"):
        return Detected("argocd", f"file name {name}")
    return None


def _by_structure(parsed: Parsed) -> Detected | None:
    for _, root in parsed.good_roots():
        images = value_at(root, "images")
        entries = items(images) if isinstance(images, SequenceNode) else []
        if entries and all(_is_image_entry(entry) for entry in entries):
            return Detected("kustomize", "an images: list of name/newTag entries")
    if POLICY_MARKER in parsed.text:
        return Detected("flux", f"a {POLICY_MARKER} setter comment")
    return None


def _is_image_entry(entry: Node) -> bool:
    """A kustomize ``images:`` entry: a name and one of newTag/newName/digest."""
    fields = ("newTag", "newName", "digest")
    return value_at(entry, "name") is not None and any(
        value_at(entry, field) is not None for field in fields
    )
