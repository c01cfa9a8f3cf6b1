"""Flux image-automation setter markers: ``# {"$imagepolicy": "ns:name[:field]"}``.

As in Flux's image-automation-controller, a value marked ``ns:name:tag``
takes the new tag, ``:digest`` the new digest, ``:name`` is left alone,
and an unsuffixed marker holds a whole reference whose repository is kept.
Markers of other policies are never touched, even with the same value. A
request none of the policy's markers can take (a digest for ``:tag``
markers only) is refused rather than reported as already current.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.errors import InvalidInput
from bot.manifests.errors import (
    TargetNotFound,
    UnsupportedEdit,
    WrongTarget,
    found_list,
)
from bot.manifests.model import CurrentImage, Site, Target, TextEdit
from bot.manifests.nodes import line_of, walk
from bot.manifests.references import parse_reference
from bot.manifests.splice import replace_scalar
from bot.manifests.workloads import image_site
from bot.manifests.yamltext import Document, Parsed

MARKER = re.compile(r'#\s*\{\s*"\$imagepolicy"\s*:\s*"([^"]*)"\s*\}')
FIELDS = ("tag", "digest", "name")
# What a marker with each field suffix (None: no suffix) can take.
TAKES: dict[str | None, tuple[str, ...]] = {
    None: ("tag", "digest"),
    "tag": ("tag",),
    "digest": ("digest",),
    "name": (),
}
TAKES_TEXT = {
    None: "a whole reference: tag and digest",
    "tag": "a tag only",
    "digest": "a digest only",
    "name": "nothing: the image name stays",
}
Holder = tuple[Document, Node | None, ScalarNode]


def find_sites(
    parsed: Parsed, target: Target, requested: tuple[str, ...] = ()
) -> tuple[Site, ...]:
    """Return one site per value marked with the target policy.

    ``requested`` names the fields an edit sets ("tag", "digest"); when
    none of the policy's markers takes any of them, UnsupportedEdit; when
    only some are taken, the first site notes what is not written.
    """
    policy = _target_policy(target)
    markers = _markers(parsed)
    wanted = {line: field for line, (name, field) in markers.items() if name == policy}
    if not wanted:
        found = sorted({name for name, _ in markers.values()})
        raise TargetNotFound(
            f"{parsed.path}: no $imagepolicy marker for {policy!r}; "
            f"policies marked: {found_list(found)}"
        )

    note = _untaken_note(parsed.path, policy, wanted, requested)

    holders = _holders(parsed, set(wanted))
    sites = []
    for line, field in sorted(wanted.items()):
        if field == "name":
            continue  # image names do not change here: nothing to set or report
        if line not in holders:
            raise UnsupportedEdit(
                f"{parsed.path}:{line + 1}: the {policy!r} marker is not on a value"
            )
        sites.append(_site(parsed, holders[line], field))
    if sites and note:
        sites[0] = replace(sites[0], note=note)
    return tuple(sites)


def _target_policy(target: Target) -> str:
    policy = target.policy
    if policy is None:
        raise WrongTarget("Flux setter files need --policy NS:NAME")
    if policy.count(":") != 1 or not all(policy.split(":")):
        raise InvalidInput(
            f"--policy {policy!r} must be NAMESPACE:NAME (no field suffix)"
        )
    return policy


def _untaken_note(
    path: str, policy: str, wanted: dict[int, str | None], requested: tuple[str, ...]
) -> str:
    """Name the requested fields that no marker of the policy takes ("" when
    all are taken); refuse a request of which none is taken."""
    takes = {field for suffix in wanted.values() for field in TAKES[suffix]}
    untaken = [field for field in requested if field not in takes]
    if not untaken:
        return ""
    if len(untaken) == len(requested):
        raise UnsupportedEdit(_refusal(path, policy, wanted, takes, requested))
    return (
        f"{path}: no $imagepolicy marker for {policy!r} takes a "
        f"{' or '.join(untaken)}; it is not written"
    )


def _refusal(
    path: str,
    policy: str,
    wanted: dict[int, str | None],
    takes: set[str],
    requested: tuple[str, ...],
) -> str:
    """Why none of the policy's markers takes the request, and what would."""
    found = "; ".join(
        f"line {line + 1} {_marker_text(policy, suffix)} takes {TAKES_TEXT[suffix]}"
        for line, suffix in sorted(wanted.items())
    )
    hint = (
        f"pass --{' and --'.join(sorted(takes))}"
        if takes
        else "add a :tag or :digest marker for it"
    )
    return (
        f"{path}: no $imagepolicy marker for {policy!r} takes a "
        f"{' or '.join(requested)}: {found}; {hint}"
    )


def _marker_text(policy: str, suffix: str | None) -> str:
    return f"{policy}:{suffix}" if suffix else policy


def _markers(parsed: Parsed) -> dict[int, tuple[str, str | None]]:
    """Return ``{0-based line: (ns:name, field or None)}`` for every marker."""
    markers: dict[int, tuple[str, str | None]] = {}
    for number, line in enumerate(parsed.lines):
        match = MARKER.search(line) if "$imagepolicy" in line else None
        if match is None:
            continue
        parts = match.group(1).split(":")
        field = parts[2] if len(parts) == 3 and parts[2] in FIELDS else None
        markers[number] = (":".join(parts[:2]), field)
    return markers


def _holders(parsed: Parsed, lines: set[int]) -> dict[int, Holder]:
    """Return the scalar value that ends on each of ``lines``."""
    holders: dict[int, Holder] = {}
    for document, root in parsed.good_roots():
        for node in walk(root):
            if isinstance(node, MappingNode):
                pairs = [(key, value) for key, value in node.value]
            elif isinstance(node, SequenceNode):
                pairs = [(None, item) for item in node.value]
            else:
                continue
            for key, value in pairs:
                line = document.first_line + value.end_mark.line
                if isinstance(value, ScalarNode) and line in lines:
                    holders[line] = (document, key, value)
    return holders


def _site(parsed: Parsed, holder: Holder, field: str | None) -> Site:
    document, key, value = holder
    if field is None:
        return image_site(parsed, document, key, value, parse_reference(value.value))
    old = value.value or None
    line = line_of(document, value) + 1
    current = CurrentImage(
        old if field == "tag" else None, old if field == "digest" else None, line
    )

    def plan(tag: str | None, digest: str | None) -> tuple[TextEdit, ...]:
        new = {"tag": tag, "digest": digest}.get(field)
        if not new or new == value.value:
            return ()
        return (replace_scalar(parsed, document, key, value, new),)

    return Site(current, plan)
