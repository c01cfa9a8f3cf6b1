"""Rules across keys, checked once the schema holds.

Each rule returns ``(location, message)`` pairs; the loader turns a
location into ``file:line``. The rules: promotions end (no environment
promotes to itself, no loop of automatic promotions), an app lists each
environment and each manifest file once, and an environment's labels leave
the bot's own scoped labels alone.
"""

from __future__ import annotations

from bot.config.model import AppConfig, Config
from bot.config.problems import Loc

BOT_LABEL = "gitops-bot"
# Scopes whose labels the bot sets itself. On GitLab Premium a merge request
# holds one label per scope (https://docs.gitlab.com/user/project/labels/
# #scoped-labels): an environment's `gitops::x` would evict `gitops::hold`,
# its `app::x` or `env::x` the merge request's own app:: or env:: label.
BOT_SCOPES = ("gitops", "app", "env")


def cross_problems(config: Config) -> list[tuple[Loc, str]]:
    """Every problem of the rules above, in no particular order."""
    problems = promotion_problems(config)
    for name, app in config.apps.items():
        problems += _repeated_environments(name, app)
        problems += _repeated_manifests(name, app)
    for name, environment in config.environments.items():
        for index, label in enumerate(environment.labels):
            problem = label_problem(name, label)
            if problem is not None:
                problems.append((("environments", name, "labels", index), problem))
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


def _repeated_environments(name: str, app: AppConfig) -> list[tuple[Loc, str]]:
    """Each environment listed a second time under the app."""
    problems: list[tuple[Loc, str]] = []
    for index, environment in enumerate(app.environments):
        first = app.environments.index(environment)
        if first < index:
            problems.append(
                (
                    ("apps", name, "environments", index),
                    f"expected each environment once, got {environment!r} again "
                    f"(environments[{first}])",
                )
            )
    return problems


def _repeated_manifests(name: str, app: AppConfig) -> list[tuple[Loc, str]]:
    """Manifests naming a file an earlier one names, in any environment.

    The deploy would edit that file twice in one commit.
    """
    problems: list[tuple[Loc, str]] = []
    for index, manifest in enumerate(app.manifests):
        for environment in dict.fromkeys(app.environments):
            path = manifest.render(name, environment)
            earlier = [m.render(name, environment) for m in app.manifests[:index]]
            if path in earlier:
                problems.append(
                    (
                        ("apps", name, "manifests", index, "path"),
                        f"expected each file once, got {path} again "
                        f"(manifests[{earlier.index(path)}], in {environment})",
                    )
                )
                break
    return problems
