"""Rules across keys, in two groups.

Each rule returns ``(location, message)`` pairs; the loader turns a
location into ``file:line``. Rules over single keys read the plain mapping
and run in the same pass as the schema, so that one run shows every fault:
an app lists each environment once, a manifest entry has the fields its
kind needs and none that it ignores, and an environment's labels leave the
bot's own scoped labels alone. Rules that combine sections need a valid
schema and run once it holds: promotions end (no environment promotes to
itself, no loop of automatic promotions), an automatic promotion leads to
an environment each app of its source is deployed to, and an app names each
manifest file once in every environment.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bot.config.model import KINDS, AppConfig, Config
from bot.config.problems import Loc

BOT_LABEL = "gitops-bot"
# Scopes whose labels the bot sets itself. On GitLab Premium a merge request
# holds one label per scope (https://docs.gitlab.com/user/project/labels/
# #scoped-labels): an environment's `gitops::x` would evict `gitops::hold`,
# its `app::x` or `env::x` the merge request's own app:: or env:: label.
BOT_SCOPES = ("gitops", "app", "env")
# The optional fields of a manifest entry each kind reads; the others mean
# nothing for it. `auto` reads both: a policy makes the entry flux, a key
# helm (or an Argo CD Helm parameter).
KIND_FIELDS = {
    "auto": ("key", "policy"),
    "kustomize": (),
    "helm": ("key",),
    "manifest": (),
    "argocd": ("key",),
    "flux": ("policy",),
}
KIND_NEEDS = {
    "helm": ("key", "the dotted path of the tag"),
    "flux": ("policy", "namespace:name of the image policy"),
}


def key_problems(data: Mapping[Any, Any]) -> list[tuple[Loc, str]]:
    """Repeated environments and refused labels in the plain ``data``.

    Values of the wrong type are skipped: the schema reports those.
    """
    problems: list[tuple[Loc, str]] = []
    for name, app in _sections(data, "apps"):
        environments = app.get("environments")
        if isinstance(environments, list):
            problems += _repeated_environments(name, environments)
        manifests = app.get("manifests")
        for index, entry in enumerate(manifests if isinstance(manifests, list) else []):
            if isinstance(entry, Mapping):
                loc: Loc = ("apps", name, "manifests", index)
                problems += manifest_problems(loc, entry)

    for name, environment in _sections(data, "environments"):
        labels = environment.get("labels")
        for index, label in enumerate(labels if isinstance(labels, list) else []):
            problem = label_problem(name, label) if isinstance(label, str) else None
            if problem is not None:
                problems.append((("environments", name, "labels", index), problem))
    return problems


def cross_problems(config: Config) -> list[tuple[Loc, str]]:
    """Problems of the rules that need a valid schema, in no particular order."""
    problems = promotion_problems(config)
    for name, app in config.apps.items():
        problems += _promotions_out(config, app)
        problems += _repeated_manifests(name, app)
    return problems


def manifest_problems(loc: Loc, entry: Mapping[Any, Any]) -> list[tuple[Loc, str]]:
    """A field that ``entry``'s kind needs and lacks, or has and ignores.

    An entry whose kind is not a known one is skipped: the schema says so.
    """
    kind = entry.get("kind", "auto")
    if not isinstance(kind, str) or kind not in KINDS:
        return []

    problems: list[tuple[Loc, str]] = []
    if kind in KIND_NEEDS:
        field, meaning = KIND_NEEDS[kind]
        if entry.get(field) is None:
            problems.append((loc, f"expected {field} ({meaning}) for kind {kind}"))
    for field in ("key", "policy"):
        if entry.get(field) is not None and field not in KIND_FIELDS[kind]:
            readers = [name for name, read in KIND_FIELDS.items() if field in read]
            problems.append(
                (
                    (*loc, field),
                    f"expected no {field} for kind {kind}: only kinds "
                    f"{', '.join(readers)} use one",
                )
            )
    if kind == "auto" and entry.get("key") is not None and entry.get("policy"):
        problems.append(
            (
                (*loc, "key"),
                "expected key or policy, not both: a policy makes the entry "
                "flux, which uses no key",
            )
        )
    return problems


def promotion_problems(config: Config) -> list[tuple[Loc, str]]:
    """Promotions to the environment itself, and loops of automatic ones."""
    problems: list[tuple[Loc, str]] = []
    for name, environment in config.environments.items():
        loc: Loc = ("environments", name, "promote_to")
        if environment.promote_to == name:
            problems.append((loc, f"expected another environment, got {name!r}"))
            continue

        chain = [name]
        current = environment
        while current.auto_promote and current.promote_to is not None:
            chain.append(current.promote_to)
            if current.promote_to == name:
                loop = " -> ".join(chain)
                problems.append((loc, f"expected auto promotions to end; {loop}"))
                break
            if chain.count(current.promote_to) > 1:
                break
            current = config.environments[current.promote_to]
    return problems


def _promotions_out(config: Config, app: AppConfig) -> list[tuple[Loc, str]]:
    """Automatic promotions from ``app``'s environments to one it lacks.

    After a merge there, the bot would deploy the app where it does not run.
    """
    problems: list[tuple[Loc, str]] = []
    for index, source in enumerate(app.environments):
        target = config.environments[source].promote_to
        if not config.environments[source].auto_promote or target is None:
            continue
        if source in app.environments[:index]:
            continue  # listed twice: reported once, and by its own rule
        if target not in app.environments:
            problems.append(
                (
                    ("apps", app.name, "environments", index),
                    f"expected {target} among the app's environments: {source} "
                    f"auto-promotes to {target}, where app {app.name} is not "
                    f"deployed; add {target} here or set auto_promote: false "
                    f"in environments.{source}",
                )
            )
    return problems


def label_problem(environment: str, label: str) -> str | None:
    """Why ``label`` may not be one of ``environment``'s labels, or None.

    ``env::<environment>`` itself is accepted: it repeats the label the bot
    sets anyway (DESIGN.md's example configuration lists it).
    """
    if label == BOT_LABEL:
        return (
            f"expected a label the bot does not set itself, got {label!r}: "
            "every bot merge request has it already"
        )
    scope, separator, _ = label.rpartition("::")
    if not separator or scope not in BOT_SCOPES or label == f"env::{environment}":
        return None
    return (
        f"expected a label outside the scopes {', '.join(BOT_SCOPES)}, got "
        f"{label!r}: on GitLab Premium scoped labels are exclusive, so it would "
        f"replace the bot's own {scope}:: label ({_evicted(scope, environment)})"
    )


def _evicted(scope: str, environment: str) -> str:
    if scope == "gitops":
        return "gitops::hold, gitops::pipeline-failed"
    if scope == "app":
        return "app::<app>"
    return f"env::{environment}"


def _repeated_environments(app: str, environments: list[Any]) -> list[tuple[Loc, str]]:
    """Each environment listed a second time under ``app``."""
    problems: list[tuple[Loc, str]] = []
    first_index: dict[str, int] = {}
    for index, environment in enumerate(environments):
        if not isinstance(environment, str):
            continue
        first = first_index.setdefault(environment, index)
        if first < index:
            problems.append(
                (
                    ("apps", app, "environments", index),
                    f"expected each environment once, got {environment!r} again "
                    f"(environments[{first}])",
                )
            )
    return problems


def _sections(data: Mapping[Any, Any], key: str) -> Iterator[tuple[str, Mapping]]:
    """The named mappings under ``data[key]``, skipping malformed entries."""
    sections = data.get(key)
    if not isinstance(sections, Mapping):
        return
    for name, section in sections.items():
        if isinstance(name, str) and isinstance(section, Mapping):
            yield name, section


def _repeated_manifests(name: str, app: AppConfig) -> list[tuple[Loc, str]]:
    """Manifests naming a file an earlier one names, in any environment.

    The deploy would edit that file twice in one commit.
    """
    # The first manifest naming each file, per environment: one pass, so
    # that a long (aliased) list of manifests stays linear.
    first_index: dict[str, dict[str, int]] = {
        environment: {} for environment in app.environments
    }
    problems: list[tuple[Loc, str]] = []
    for index, manifest in enumerate(app.manifests):
        repeats = []
        for environment, seen in first_index.items():
            path = manifest.render(name, environment)
            first = seen.setdefault(path, index)
            if first < index:
                repeats.append((path, first, environment))
        if repeats:
            path, first, environment = repeats[0]
            problems.append(
                (
                    ("apps", name, "manifests", index, "path"),
                    f"expected each file once, got {path} again "
                    f"(manifests[{first}], in {environment})",
                )
            )
    return problems
