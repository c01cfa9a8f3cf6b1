"""The deploy flow with GitLab: read, plan, then write (principle 4).

Every GitLab call goes through the adapter; what to write is decided by
``bot.deploy.plan`` before the first write.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import replace
from typing import Any

import structlog

from bot.config import Config
from bot.deploy.changelog import changelog_span, merged_titles
from bot.deploy.locks import KeyedLocks
from bot.deploy.model import (
    DeployRequest,
    DeployResult,
    ManifestMissing,
    MergeRequestRef,
    Plan,
    Snapshot,
)
from bot.deploy.plan import (
    check_request,
    is_bot_merge_request,
    plan_deploy,
    replan_with,
    targets,
    with_changelog,
    with_commit,
)
from bot.errors import Refused
from bot.gate.model import MERGE_REQUESTED_LABEL
from bot.gitlab import (
    ApprovalRule,
    Commit,
    FileAction,
    GitLab,
    GitLabCallError,
    GitLabConflict,
    GitLabForbidden,
    GitLabNotFound,
    GitLabRejected,
    MergeRequest,
    NewMergeRequest,
    RepositoryFile,
)
from bot.record import DeployRecord, parse_marker, render_marker

log = structlog.get_logger(__name__)

# The changelog is a nicety: it may not hold a deploy up for long.
CHANGELOG_DEADLINE_SECONDS = 10.0
# A title GitLab shows as a draft: a human marked the MR; a deploy keeps it.
DRAFT_PREFIX = re.compile(r"\s*(draft:|\[draft\]|\(draft\))\s*", re.IGNORECASE)


async def deploy(
    request: DeployRequest, *, config: Config, gitlab: GitLab, locks: KeyedLocks
) -> DeployResult:
    """Carry out one deploy request; return once its commit and MR exist."""
    check_request(config, request)
    key = (request.app, request.environment)
    bound = structlog.contextvars.bound_contextvars(
        deploy_id=uuid.uuid4().hex[:12], app=key[0], environment=key[1]
    )
    with bound:
        async with locks.hold(key):
            snapshot = await fetch_snapshot(config, gitlab, request)
            plan = plan_deploy(config, request, snapshot)
            for note in (note for result in plan.edits for note in result.notes):
                log.warning("manifest repository unchecked", note=note)
            if request.dry_run:
                return _dry_result(plan)
            return await carry_out(plan, config, gitlab)


async def fetch_snapshot(
    config: Config, gitlab: GitLab, request: DeployRequest
) -> Snapshot:
    """Read the manifests at one target head, and the key's open bot MRs
    (the bot's user is read once per process, when any MR is listed)."""
    app, env = request.app, request.environment
    paths = [path for path, _ in targets(config, app, env)]
    target = config.gitlab.target_branch

    first, found = await asyncio.gather(
        _fetch_manifest(gitlab, paths[0], target),
        gitlab.fetch_open_merge_requests(target, labels=(f"app::{app}", f"env::{env}")),
    )
    bot_id = (await gitlab.fetch_current_user())[0] if found else None
    others = await asyncio.gather(
        *(_fetch_manifest(gitlab, path, first.commit_id) for path in paths[1:])
    )
    branch = config.branch_name(app, env)
    return Snapshot(
        head_sha=first.commit_id,
        files=(first, *others),
        merge_requests=tuple(
            mr for mr in found if is_bot_merge_request(mr, branch, app, env, bot_id)
        ),
    )


async def _fetch_manifest(gitlab: GitLab, path: str, ref: str) -> RepositoryFile:
    """Read one manifest; a missing file is a configuration fault, not GitLab's."""
    try:
        return await gitlab.fetch_file(path, ref)
    except GitLabNotFound as error:
        raise ManifestMissing(
            f"manifest {path} is not in {gitlab.project} at {ref}: {error.detail}"
        ) from error


async def carry_out(
    plan: Plan, config: Config, gitlab: GitLab, *, replans: int = 1
) -> DeployResult:
    """Read the changelog, commit, create or update the MR, close duplicates.

    An MR that GitLab answers as no longer open once updated (merged or
    closed while this request ran) is not the answer: the request is read
    and planned again without it (up to ``replans`` times), which opens a
    new one.
    """
    if not plan.changed:
        return await _nothing_to_change(plan, gitlab)

    titles = await _fetch_changelog(plan, config, gitlab)
    plan, commit = await _write_branch(plan, config, gitlab)
    plan = with_changelog(config, plan, titles)

    if plan.keep is None:
        mr, status = await _open(plan, config, gitlab, titles)
    else:
        mr = await _refresh(plan, plan.keep, gitlab)
        if mr.state != "opened" and replans > 0:
            log.warning("kept merge request not open", iid=mr.iid, state=mr.state)
            return await _plan_again(plan, config, gitlab, mr, replans - 1)
        wrote = commit is not None or mr is not plan.keep
        status = "updated" if wrote else "unchanged"
    await _close_duplicates(plan.duplicates, mr, gitlab)

    log.info("deployed", status=status, iid=mr.iid, tag=plan.request.tag)
    return _result(plan, status, mr, None if commit is None else commit.sha)


async def _plan_again(
    plan: Plan, config: Config, gitlab: GitLab, gone: MergeRequest, replans: int
) -> DeployResult:
    """Read and plan ``plan``'s request again, ``gone`` left out, and carry it
    out: the target head moved if ``gone`` was merged."""
    snapshot = await fetch_snapshot(config, gitlab, plan.request)
    others = tuple(mr for mr in snapshot.merge_requests if mr.iid != gone.iid)
    snapshot = replace(snapshot, merge_requests=others)
    again = plan_deploy(config, plan.request, snapshot)
    return await carry_out(again, config, gitlab, replans=replans)


async def _fetch_changelog(
    plan: Plan, config: Config, gitlab: GitLab
) -> tuple[str, ...] | None:
    """The titles of the source MRs merged between the tags (1 call, or none).

    No call when ``gitlab.changelog`` is off, a tag or the source project
    is unknown, or the kept MR already describes this very deployment (a
    replay). A source project the bot may not read (403, 404) has no
    changelog; any other failure is logged and leaves it unknown (None):
    the changelog never fails a deploy.
    """
    span = changelog_span(plan.record)
    if not config.gitlab.changelog or span is None:
        return ()
    if plan.keep is not None and plan.record.same_deployment(
        parse_marker(plan.keep.description)
    ):
        return None
    try:
        messages = await gitlab.fetch_compare_messages(
            span.project,
            span.previous_tag,
            span.tag,
            deadline_seconds=CHANGELOG_DEADLINE_SECONDS,
        )
    except (GitLabForbidden, GitLabNotFound) as error:
        log.debug("changelog unreadable", project=span.project, status=error.status)
        return ()
    except GitLabCallError as error:
        log.warning("changelog failed", project=span.project, error=str(error))
        return None
    return merged_titles(messages)


async def _write_branch(
    plan: Plan, config: Config, gitlab: GitLab
) -> tuple[Plan, Commit | None]:
    """Make the branch "the head we read + this change"; no commit on a replay.

    The plan returned names the branch's commit in its record (``commit``).
    With no MR listed, the branch is started without ``force``. If it
    exists, an open MR on it may have escaped the label listing (its labels
    removed): that MR is planned with, version check included, before
    anything is written. A branch left by a closed MR is rebuilt in place.
    """
    if plan.keep is not None:
        current = await _current_head(plan, gitlab) if plan.same_request else None
        if current is not None:
            return with_commit(plan, current), None
        return _written(plan, await _commit(plan, gitlab, force=True))
    try:
        return _written(plan, await _commit(plan, gitlab, force=False))
    except GitLabRejected as error:
        if not error.branch_exists:
            raise

    found = await gitlab.fetch_open_merge_requests(
        plan.target_branch, source_branch=plan.branch
    )
    if not found:
        return _written(plan, await _commit(plan, gitlab, force=True))
    log.warning("unlisted merge request on the branch", iids=[mr.iid for mr in found])
    return await _write_branch(replan_with(config, plan, found), config, gitlab)


async def _commit(plan: Plan, gitlab: GitLab, *, force: bool) -> Commit:
    """Commit the changed files onto the branch, started from our head."""
    return await gitlab.commit_branch(
        plan.branch,
        start_sha=plan.head_sha,
        message=_commit_message(plan),
        actions=[
            FileAction("update", result.path, result.text)
            for result in plan.edits
            if result.changed
        ],
        force=force,
    )


def _written(plan: Plan, commit: Commit) -> tuple[Plan, Commit]:
    """The plan whose record names the commit just written, and the commit."""
    return with_commit(plan, commit.sha), commit


async def _current_head(plan: Plan, gitlab: GitLab) -> str | None:
    """The branch head when the MR branch is already "our head + this change"
    (a replay), else None. A head other than the commit the kept MR's record
    names was pushed by someone else: not current, whatever its parent."""
    try:
        branch = await gitlab.fetch_branch(plan.branch)
    except GitLabNotFound:
        return None
    assert plan.keep is not None  # only a kept MR can be replayed
    written = parse_marker(plan.keep.description)
    if written is not None and written.commit not in (None, branch.sha):
        return None
    return branch.sha if branch.parent_ids == (plan.head_sha,) else None


async def _open(
    plan: Plan, config: Config, gitlab: GitLab, titles: tuple[str, ...] | None
) -> tuple[MergeRequest, str]:
    """Create the MR, or adopt the open one GitLab names.

    GitLab names one when our create was applied but its answer was lost
    (then the description is ours already: "opened"). An MR a racing
    writer (another job process: its locks are not ours) opened on the
    branch is version-checked like any other; our commit is on its branch
    by then, so a refused request first rewrites the branch from that MR's
    record (``_restore_branch``).
    """
    env = config.environment(plan.request.environment)
    new = NewMergeRequest(
        source_branch=plan.branch,
        target_branch=plan.target_branch,
        title=plan.title,
        description=plan.description,
        labels=plan.labels,
        reviewer_ids=await gitlab.fetch_user_ids(env.reviewers),
    )
    try:
        mr, status = await gitlab.create_merge_request(new), "opened"
    except GitLabConflict as conflict:
        if conflict.existing_iid is None:
            raise
        existing = await gitlab.fetch_merge_request(conflict.existing_iid)
        try:
            replanned = replan_with(config, plan, (existing,))
        except Refused:
            await _restore_branch(plan, config, gitlab, existing)
            raise
        replanned = with_commit(replanned, plan.record.commit or "")
        plan = with_changelog(config, replanned, titles)
        status = "opened" if existing.description == plan.description else "updated"
        mr = await _refresh(plan, existing, gitlab)
    await _ensure_approval_rule(plan, config, gitlab, mr, is_new=status == "opened")
    return mr, status


async def _restore_branch(
    plan: Plan, config: Config, gitlab: GitLab, adopted: MergeRequest
) -> None:
    """Rewrite the branch from ``adopted``'s record when our refused commit
    (``plan``) replaced its change: the MR must carry what it says."""
    record = parse_marker(adopted.description)
    if record is None:
        log.warning("branch left as written: no record", iid=adopted.iid)
        return
    if (record.tag, record.digest, record.pin) == (
        plan.record.tag, plan.record.digest, plan.record.pin,
    ):  # fmt: skip
        return
    snapshot = replace(plan.snapshot, merge_requests=(adopted,))
    try:
        theirs = plan_deploy(config, DeployRequest.rebuilding(record), snapshot)
    except Refused as error:
        log.warning("branch left as written", iid=adopted.iid, error=str(error))
        return
    written = await _commit(theirs, gitlab, force=True)
    await _record_commit(gitlab, adopted, record, written.sha)
    log.warning("branch rewritten from the adopted record", iid=adopted.iid)


async def _record_commit(
    gitlab: GitLab, mr: MergeRequest, record: DeployRecord, sha: str
) -> None:
    """Make ``mr``'s record name ``sha``, the commit just written for it, so
    the gate does not take that commit for someone else's."""
    marker = render_marker(record)
    description = mr.description or ""
    if marker not in description:
        log.warning("record left without the new commit", iid=mr.iid)
        return
    updated = description.replace(marker, render_marker(replace(record, commit=sha)))
    await gitlab.update_merge_request(mr.iid, description=updated)


async def _ensure_approval_rule(
    plan: Plan, config: Config, gitlab: GitLab, mr: MergeRequest, *, is_new: bool
) -> None:
    """Add the environment's approval rule (Premium; never twice)."""
    approvals = config.environment(plan.request.environment).approvals
    if approvals.required == 0:
        return
    rule = ApprovalRule(
        name=f"gitops-bot {plan.request.environment}",
        approvals_required=approvals.required,
        usernames=approvals.users,
        group_ids=await gitlab.fetch_group_ids(approvals.groups),
    )
    await gitlab.ensure_approval_rule(mr.iid, rule, is_new=is_new)


async def _refresh(plan: Plan, mr: MergeRequest, gitlab: GitLab) -> MergeRequest:
    """Bring title, description and labels up to date; no call when they are.

    Labels are added, never replaced: a human's ``gitops::hold`` stays, and
    so does a human's Draft title prefix (``draft_title``). A
    remembered ``merge`` command is for the tag it was given on: a new tag
    or digest drops its label, as GitLab drops approvals.
    """
    fields: dict[str, Any] = {}
    if MERGE_REQUESTED_LABEL in mr.labels and not plan.same_request:
        fields["remove_labels"] = MERGE_REQUESTED_LABEL
    title = draft_title(mr.title, plan.title)
    if mr.title != title:
        fields["title"] = title
    if mr.description != plan.description:
        fields["description"] = plan.description
    missing = [label for label in plan.labels if label not in mr.labels]
    if missing:
        fields["add_labels"] = ",".join(missing)
    if not fields:
        return mr
    return await gitlab.update_merge_request(mr.iid, **fields)


def draft_title(current: str, planned: str) -> str:
    """``planned`` with the Draft prefix ``current`` starts with, if any
    (GitLab's: ``Draft:``, ``[Draft]``, ``(Draft)``, any case)."""
    prefix = DRAFT_PREFIX.match(current)
    return planned if prefix is None else f"{prefix.group(1)} {planned}"


async def _close_duplicates(
    duplicates: tuple[MergeRequest, ...], survivor: MergeRequest, gitlab: GitLab
) -> None:
    """Close every other open bot MR of the key, naming the survivor."""
    for duplicate in duplicates:
        await gitlab.post_note(
            duplicate.iid,
            f"Closed by gitops-bot: !{survivor.iid} carries this deployment; "
            "one merge request per app and environment.",
        )
        await gitlab.close_merge_request(duplicate.iid)
        log.warning("closed duplicate", iid=duplicate.iid, survivor=survivor.iid)


async def _nothing_to_change(plan: Plan, gitlab: GitLab) -> DeployResult:
    """The target already holds the request: close stale MRs, write nothing else."""
    stale = ((plan.keep,) if plan.keep else ()) + plan.duplicates
    for mr in stale:
        await gitlab.post_note(
            mr.iid,
            f"Closed by gitops-bot: {plan.request.tag or plan.request.digest} "
            f"is already deployed on {plan.target_branch}.",
        )
        await gitlab.close_merge_request(mr.iid)
    return _result(plan, "unchanged", None, None)


def _commit_message(plan: Plan) -> str:
    """The commit message: the title, then what was changed where."""
    lines = [
        f"- {change.path}:{change.line}: {change.old} -> {change.new}"
        for result in plan.edits
        for change in result.changes
    ]
    return "\n".join([plan.title, "", *lines, "", "Written by gitops-bot."])


def _dry_result(plan: Plan) -> DeployResult:
    """What the request would do, with the diff; nothing was written.

    An open MR that already describes this very deployment would be left
    as it is (``carry_out`` answers ``unchanged`` for such a replay).
    """
    replay = plan.keep is not None and plan.record.same_deployment(
        parse_marker(plan.keep.description)
    )
    if not plan.changed or replay:
        status = "unchanged"
    else:
        status = "opened" if plan.keep is None else "updated"
    return replace(_result(plan, status, plan.keep, None), dry_run=True)


def _result(
    plan: Plan, status: str, mr: MergeRequest | None, commit: str | None
) -> DeployResult:
    """Assemble the answer."""
    return DeployResult(
        status=status,
        merge_request=None if mr is None else MergeRequestRef(mr.iid, mr.web_url),
        branch=plan.branch,
        commit=commit,
        previous_tag=plan.record.previous_tag,
        tag=plan.request.tag,
        digest=plan.request.digest,
        diff=plan.diff,
    )
