"""``gitops-bot deploy``: the deploy flow as a one-shot job.

For teams that keep the central-pipeline model: the job holds the GitOps
token (from the variable ``gitlab.token_env`` names), so it is trusted like
the server itself and no source project is authorised; the pipeline's URL
and user are recorded when GitLab CI provides them. Output: the merge
request URL, or with ``--json`` the result object. Exit statuses come from
the exceptions (``bot.cli``): 2 refused input or policy, 1 GitLab.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.config import Config, load_config, read_gitlab_token
from bot.deploy import DeployRequest, DeployResult, KeyedLocks, deploy
from bot.errors import GitLabError
from bot.gitlab import GitLab, MergeRequest, RetryPolicy
from bot.record import Source, parse_marker
from bot.server.logs import configure_logging

POLL_SECONDS = 5.0
# What a dry run would have done, by the status the real call answers.
WOULD = {"opened": "open", "updated": "update", "unchanged": "nothing"}


class NotMerged(GitLabError):
    """``--wait merged`` ended without a merge (closed, or the timeout)."""


def run_deploy(args: argparse.Namespace) -> int:
    """Run one deploy request; print the MR URL or the JSON result."""
    handler = configure_logging(_CurrentStderr())
    try:
        return _deploy(args)
    finally:
        logging.getLogger().removeHandler(handler)


def _deploy(args: argparse.Namespace) -> int:
    """The deploy itself, once logging is set up."""
    config = load_config(args.config)
    token = read_gitlab_token(config)
    request = DeployRequest(
        app=args.app,
        environment=args.env,
        tag=args.tag,
        digest=args.digest,
        source=ci_source(os.environ),
        force=args.force,
        dry_run=args.dry_run,
        requested_by=os.environ.get("GITLAB_USER_LOGIN"),
    )

    result = asyncio.run(_run(config, token, request, args.wait, args.timeout))
    print(_render(result, config.gitlab.target_branch, as_json=args.json))
    return 0


def result_json(result: DeployResult, target_branch: str) -> dict[str, Any]:
    """The result object of ``--json`` and the HTTP API, naming the branch
    the merge request targets.

    A real call's ``status`` says what was done (``opened``, ``updated``,
    ``unchanged``). A dry run did nothing: its status is ``dry_run`` and
    ``would`` says what the real call would do (``open``, ``update``,
    ``nothing``); ``merge_request`` is the one it would update, if any.
    """
    answer = {**result.to_json(), "target_branch": target_branch}
    if result.dry_run:
        answer.update(status="dry_run", would=WOULD[result.status])
    return answer


async def _run(
    config: Config,
    token: str,
    request: DeployRequest,
    wait: str | None,
    timeout: float,
) -> DeployResult:
    """Deploy, then optionally wait for the merge, closing the client after."""
    gitlab = connect(config, token)
    try:
        result = await deploy(request, config=config, gitlab=gitlab, locks=KeyedLocks())
        if wait == "merged" and result.merge_request and not request.dry_run:
            iid = result.merge_request.iid
            await wait_for_merge(
                gitlab, iid, timeout, tag=request.tag, digest=request.digest
            )
            result = replace(result, status="merged")
        return result
    finally:
        gitlab.close()


def connect(config: Config, token: str) -> GitLab:
    """The adapter for the configured GitOps project."""
    settings = config.gitlab
    return GitLab(
        str(settings.url),
        token,
        settings.project,
        timeout_seconds=settings.timeout_seconds,
        max_concurrent_calls=settings.max_concurrent_calls,
        policy=RetryPolicy(deadline_seconds=settings.retry_deadline_seconds),
        tier=settings.tier,
    )


async def wait_for_merge(
    gitlab: GitLab,
    iid: int,
    timeout: float,
    interval: float = POLL_SECONDS,
    *,
    tag: str | None = None,
    digest: str | None = None,
) -> None:
    """Poll the MR until merged with our ``tag`` and ``digest`` (those given);
    raise ``NotMerged`` if closed, superseded or out of time.

    The bot keeps one MR per key: a newer deploy rewrites this very MR, so
    its record, not its state alone, says whether ours is the one merged.
    """
    deadline = time.monotonic() + timeout
    while True:
        mr = await gitlab.fetch_merge_request(iid)
        _ensure_not_superseded(mr, iid, tag, digest)
        if mr.state == "merged":
            return
        if mr.state == "closed":
            raise NotMerged(f"wait merged: !{iid} was closed without a merge")
        if time.monotonic() + interval > deadline:
            raise NotMerged(f"wait merged: !{iid} not merged within {timeout:g}s")
        await asyncio.sleep(interval)


def _ensure_not_superseded(
    mr: MergeRequest, iid: int, tag: str | None, digest: str | None
) -> None:
    """Raise ``NotMerged`` when ``mr``'s record proposes another tag or digest
    than ours (a record that cannot be read proposes nothing of ours)."""
    record = parse_marker(mr.description)
    proposed = (None, None) if record is None else (record.tag, record.digest)
    if (tag is None or proposed[0] == tag) and (
        digest is None or proposed[1] == digest
    ):
        return
    theirs = "@".join(part for part in proposed if part) or "no readable record"
    ours = "@".join(part for part in (tag, digest) if part)
    raise NotMerged(
        f"wait merged: superseded: !{iid} now proposes {theirs}, not {ours}"
        + (" (and was merged with it)" if mr.state == "merged" else "")
    )


def ci_source(environ: Mapping[str, str]) -> Source | None:
    """What GitLab CI says about the pipeline running the job, if anything."""
    pipeline_url = environ.get("CI_PIPELINE_URL")
    if not pipeline_url:
        return None
    return Source(pipeline_url=pipeline_url)


def _render(result: DeployResult, target_branch: str, *, as_json: bool) -> str:
    """The job's output: the JSON object, the MR URL, or the dry-run diff."""
    if as_json:
        answer = result_json(result, target_branch)
        return json.dumps(answer, indent=2, sort_keys=True)
    if result.dry_run:
        return result.diff or "dry run: nothing to change"
    if result.merge_request is None:
        image = result.tag or result.digest
        return f"{result.status}: {image} is already on {target_branch}"
    return result.merge_request.web_url


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at each call, so logs follow a
    caller that swaps it (pytest's capture closes the streams it made)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()
