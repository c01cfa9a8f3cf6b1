"""``gitops-bot check-config [F]``: validate, then explain what was loaded."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence, Sized
from typing import TextIO

from bot.config.load import config_path, load_config
from bot.config.model import AppConfig, Config, EnvironmentConfig, ManifestConfig
from bot.config.problems import ConfigError

HEADERS = ("APP", "ENV", "APPROVALS", "MERGE", "LABELS", "MANIFESTS")
# What a shell reports for a tool that SIGPIPE stopped (128 + 13); Python
# ignores SIGPIPE, so a reader that left (`| head -1`) shows as an error.
READER_GONE = 141


def run_check(args: argparse.Namespace) -> int:
    """Print every problem (exit 2) or a table of apps x environments (exit 0).

    When the reader of the output goes away early, stop quietly (exit 141).
    """
    path = config_path(getattr(args, "file", None))
    try:
        config = load_config(path)
    except ConfigError as error:
        problems = [*error.problems, f"{path}: {_count(error.problems, 'problem')}"]
        return _write(sys.stderr, problems, status=2)

    return _write(sys.stdout, summarise(config, str(path)), status=0)


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


def _write(stream: TextIO, lines: list[str], *, status: int) -> int:
    """Write ``lines`` to ``stream``; return ``status``, or 141 if it closed."""
    try:
        stream.write("".join(line + "\n" for line in lines))
        stream.flush()
    except BrokenPipeError:
        _discard(stream)
        return READER_GONE
    return status


def _discard(stream: TextIO) -> None:
    """Point ``stream``'s descriptor at /dev/null, so that the flush at exit,
    of what is still buffered, does not fail again (Python docs, "Note on
    SIGPIPE": https://docs.python.org/3/library/signal.html#note-on-sigpipe).
    """
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):
        return  # not a file (a test's capture): nothing flushes it at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def _count(items: Sized, noun: str) -> str:
    return f"{len(items)} {noun}{'s' * (len(items) != 1)}"
