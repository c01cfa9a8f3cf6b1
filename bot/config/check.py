"""``gitops-bot check-config [F]``: validate, then explain what was loaded."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence, Sized

from bot.config.load import config_path, load_config
from bot.config.model import AppConfig, Config, EnvironmentConfig, ManifestConfig
from bot.config.problems import ConfigError

HEADERS = ("APP", "ENV", "APPROVALS", "MERGE", "LABELS", "MANIFESTS")


def run_check(args: argparse.Namespace) -> int:
    """Print every problem (exit 2) or a table of apps x environments (exit 0)."""
    path = config_path(getattr(args, "file", None))
    try:
        config = load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{path}: {_count(error.problems, 'problem')}", file=sys.stderr)
        return 2

    print("\n".join(summarise(config, str(path))))
    return 0


def summarise(config: Config, filename: str) -> list[str]:
    """The summary lines: a header, then one table row per manifest file."""
    gitlab = config.gitlab
    header = [
        f"{filename}: valid, {_count(config.apps, 'app')}, "
        f"{_count(config.environments, 'environment')}",
        f"GitOps project {gitlab.project} on {gitlab.url}, "
        f"target branch {gitlab.target_branch}",
        "Every merge request is labelled gitops-bot, app::<app>, env::<env>, "
        "plus LABELS.",
        "",
    ]
    rows = [HEADERS]
    for app in config.apps.values():
        for env_name in app.environments:
            rows.extend(_rows(config, app, config.environments[env_name]))
    return header + _table(rows)


def _rows(
    config: Config, app: AppConfig, env: EnvironmentConfig
) -> list[tuple[str, ...]]:
    manifests = [_manifest(manifest) for manifest in app.manifests_for(env.name)]
    first = (
        app.name,
        env.name,
        _approvals(env),
        _merge(env),
        ", ".join(env.labels) or "-",
        manifests[0],
    )
    return [first] + [("", "", "", "", "", manifest) for manifest in manifests[1:]]


def _approvals(env: EnvironmentConfig) -> str:
    approvals = env.approvals
    if approvals.required == 0:
        return "none"
    who = ", ".join(approvals.groups + approvals.users) or "any member"
    return f"{approvals.required} of {who} ({approvals.min_access_level.label}+)"


def _merge(env: EnvironmentConfig) -> str:
    parts = [f"auto ({env.merge_method})" if env.auto_merge else "on command"]
    if env.required_jobs:
        parts.append("after " + ", ".join(env.required_jobs))
    if env.promote_to:
        arrow = "auto-promote" if env.auto_promote else "promote"
        parts.append(f"{arrow} -> {env.promote_to}")
    if env.freeze_windows or env.merge_windows:
        parts.append("windows")
    return "; ".join(parts)


def _manifest(manifest: ManifestConfig) -> str:
    detail = [manifest.kind]
    if manifest.key:
        detail.append(f"key {manifest.key}")
    if manifest.policy:
        detail.append(f"policy {manifest.policy}")
    return f"{manifest.path} ({', '.join(detail)})"


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADERS))]
    return [
        "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]


def _count(items: Sized, noun: str) -> str:
    return f"{len(items)} {noun}{'s' * (len(items) != 1)}"
