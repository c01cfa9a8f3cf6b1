"""Which editor a file needs, from its name and its documents."""

from __future__ import annotations

import posixpath

from bot.manifests.model import Target
from bot.manifests.nodes import text_of, value_at
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


def detect_kind(text: str, path: str) -> str:
    """Return the editor kind for a file: kustomize, helm, manifest, argocd, flux."""
    return kind_of(parse(text, path))


def kind_of(parsed: Parsed) -> str:
    """Return the editor kind for parsed text (see ``detect_kind``)."""
    name = posixpath.basename(parsed.path.replace("\\", "/"))
    if name in KUSTOMIZATION_NAMES:
        return "kustomize"
    if name.startswith(".argocd-source"):
        return "argocd"

    kinds = _document_kinds(parsed)
    if kinds & ARGOCD_KINDS:
        return "argocd"
    if kinds & WORKLOAD_KINDS:
        return "manifest"
    if "Kustomization" in kinds and "images" in _root_keys(parsed):
        return "kustomize"
    if POLICY_MARKER in parsed.text:
        return "flux"
    return "helm"


def resolve_kind(parsed: Parsed, target: Target) -> str:
    """Return the target's kind, detecting it when ``auto``."""
    if target.kind != "auto":
        return target.kind
    if target.policy:
        return "flux"
    kind = kind_of(parsed)
    if target.key and kind in ("kustomize", "manifest", "flux"):
        return "helm"
    return kind


def _document_kinds(parsed: Parsed) -> set[str]:
    return {text_of(value_at(root, "kind")) or "" for _, root in parsed.good_roots()}


def _root_keys(parsed: Parsed) -> set[str]:
    keys: set[str] = set()
    for _, root in parsed.good_roots():
        if isinstance(root.value, list):
            keys |= {
                text_of(pair[0]) or "" for pair in root.value if isinstance(pair, tuple)
            }
    return keys
