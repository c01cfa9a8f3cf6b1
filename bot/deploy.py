"""The deploy flow: one request becomes one open merge request per key.

DESIGN.md "Deploy request", for one (app, environment):

1. ``check_request`` (pure): names, tag, digest, policy;
2. ``fetch_snapshot``: the manifests at the target head and the open bot
   merge requests for the key, read in parallel (2 calls for one file);
3. ``plan_deploy`` (pure): edit in memory, order versions, choose the
   merge request that survives, render title, description and labels;
4. ``carry_out``: commit the branch rebuilt from the head we read, then
   create or update the merge request. Nothing is answered before both
   exist in GitLab (principle 4).

A commit landing on the target between steps 2 and 4 is not lost: the
branch is based on the SHA we read, GitLab shows the MR as behind, and the
next request or merge-gate regeneration rebuilds it on the new head.
Requests for one key are serialised by ``KeyedLocks``; different keys run
in parallel, bounded by the adapter's semaphore.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import structlog

from bot import policy
from bot.chatops import command_lines
from bot.config import Config
from bot.errors import Refused
from bot.gitlab import (
    ApprovalRule,
    FileAction,
    GitLab,
    GitLabConflict,
    GitLabNotFound,
    MergeRequest,
    NewMergeRequest,
    RepositoryFile,
)
from bot.manifests import EditResult, Target, edit, find_current
from bot.record import DeployRecord, Source, parse_marker, render_description

log = structlog.get_logger(__name__)


class ManifestMissing(policy.InvalidReference):
    """A configured manifest file does not exist on the target branch."""

    http_status = 422


class Pinned(Refused):
    """The key is pinned to another tag until someone runs ``unpin``."""

    http_status = 409


@dataclass(frozen=True)
class DeployRequest:
    """One "deploy this image to this environment" request."""

    app: str
    environment: str
    tag: str | None = None
    digest: str | None = None
    source: Source | None = None
    force: bool = False
    dry_run: bool = False
    requested_by: str | None = None


@dataclass(frozen=True)
class MergeRequestRef:
    """The merge request a deploy landed in."""

    iid: int
    web_url: str


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did: ``opened``, ``updated`` or ``unchanged``."""

    status: str
    merge_request: MergeRequestRef | None
    branch: str
    commit: str | None
    previous_tag: str | None
    tag: str | None
    digest: str | None = None
    diff: str = ""
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        """The result object of the job's ``--json`` and the HTTP API."""
        mr = self.merge_request
        return {
            "status": self.status,
            "merge_request": None if mr is None else vars(mr).copy(),
            "branch": self.branch,
            "commit": self.commit,
            "previous_tag": self.previous_tag,
            "tag": self.tag,
            "digest": self.digest,
            "dry_run": self.dry_run,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class Snapshot:
    """What GitLab holds for one key: files at the target head, open MRs."""

    head_sha: str
    files: tuple[RepositoryFile, ...]
    merge_requests: tuple[MergeRequest, ...]


@dataclass(frozen=True)
class Plan:
    """Everything ``carry_out`` writes, decided without touching GitLab."""

    request: DeployRequest
    branch: str
    target_branch: str
    head_sha: str
    edits: tuple[EditResult, ...]
    keep: MergeRequest | None
    duplicates: tuple[MergeRequest, ...]
    record: DeployRecord
    title: str
    description: str
    labels: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """True when the edit changes the target branch at all."""
        return any(result.changed for result in self.edits)

    @property
    def diff(self) -> str:
        """The unified diff of every file the commit changes."""
        return "".join(result.diff for result in self.edits if result.changed)

    @property
    def same_request(self) -> bool:
        """True when the surviving MR already proposes this tag and digest."""
        old = None if self.keep is None else parse_marker(self.keep.description)
        return old is not None and (old.tag, old.digest) == (
            self.record.tag,
            self.record.digest,
        )


class KeyedLocks:
    """One ``asyncio.Lock`` per key, dropped when nobody holds or waits."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: Counter[Hashable] = Counter()

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Run the block while no other holder of ``key`` runs."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


# Pure steps


def check_request(config: Config, request: DeployRequest) -> None:
    """Raise unless the request is well-formed and policy allows it."""
    policy.validate_name("app", request.app)
    policy.validate_name("environment", request.environment)
    if request.tag is None and request.digest is None:
        raise policy.InvalidReference("nothing to deploy: give a tag, a digest or both")
    if request.tag is not None:
        policy.validate_tag(request.tag)
    if request.digest is not None:
        policy.validate_digest(request.digest)

    source = request.source.project if request.source else None
    if source is not None:
        policy.authorise(config, source, request.app, request.environment)
    elif request.environment not in config.app(request.app).environments:
        # No source project: the caller holds the GitOps token (job mode).
        policy.authorise(config, "", request.app, request.environment)
    env = config.environment(request.environment)
    if request.tag is not None:
        policy.ensure_tag_allowed(env, request.tag)


def targets(config: Config, app: str, env: str) -> tuple[tuple[str, Target], ...]:
    """The (path, editor target) of every manifest of ``app`` in ``env``."""
    return tuple(
        (m.path, Target(kind=m.kind, image=m.image, key=m.key, policy=m.policy))
        for m in config.app(app).manifests_for(env)
    )


def is_bot_merge_request(mr: MergeRequest, branch: str, app: str, env: str) -> bool:
    """True for the bot's MR of the key: its branch, or a copy of its record."""
    if mr.source_branch == branch:
        return True
    record = parse_marker(mr.description)
    return record is not None and (record.app, record.environment) == (app, env)


def plan_deploy(config: Config, request: DeployRequest, snapshot: Snapshot) -> Plan:
    """Decide the commit and the merge request; raise on a refused order."""
    app, env = request.app, request.environment
    pairs = zip(targets(config, app, env), snapshot.files, strict=True)
    edits = tuple(
        edit(file.content, path, target, tag=request.tag, digest=request.digest)
        for (path, target), file in pairs
    )
    keep, duplicates = _survivor(snapshot.merge_requests)
    old = None if keep is None else parse_marker(keep.description)
    deployed = _deployed(config, request, snapshot.files[0])

    _ensure_order(config, request, deployed, keep, old)
    record = DeployRecord(
        app=app,
        environment=env,
        image=config.app(app).image,
        tag=request.tag,
        digest=request.digest,
        previous_tag=deployed[0],
        previous_digest=deployed[1],
        source=request.source,
        superseded_tags=_superseded(old, request.tag),
        requested_by=request.requested_by,
    )
    return Plan(
        request=request,
        branch=config.branch_name(app, env),
        target_branch=config.gitlab.target_branch,
        head_sha=snapshot.head_sha,
        edits=edits,
        keep=keep,
        duplicates=duplicates,
        record=record,
        title=config.title(app, env, tag=request.tag, digest=request.digest),
        description=_description(config, record, edits),
        labels=config.labels(app, env),
    )


def _survivor(
    found: tuple[MergeRequest, ...],
) -> tuple[MergeRequest | None, tuple[MergeRequest, ...]]:
    """Keep the oldest bot MR; the others are duplicates to close."""
    ordered = sorted(found, key=lambda mr: mr.iid)
    return (ordered[0], tuple(ordered[1:])) if ordered else (None, ())


def _deployed(
    config: Config, request: DeployRequest, file: RepositoryFile
) -> tuple[str | None, str | None]:
    """The tag and digest the first manifest holds on the target head."""
    path, target = targets(config, request.app, request.environment)[0]
    current = find_current(file.content, path, target)
    return (current[0].tag, current[0].digest) if current else (None, None)


def _ensure_order(
    config: Config,
    request: DeployRequest,
    deployed: tuple[str | None, str | None],
    keep: MergeRequest | None,
    old: DeployRecord | None,
) -> None:
    """Refuse a pinned key, and a tag older than the deployed or proposed one."""
    if old is not None and old.pin is not None and request.tag != old.pin.tag:
        raise Pinned(
            f"{request.app} in {request.environment} is pinned to {old.pin.tag} "
            f"in !{keep.iid if keep else '?'}; run unpin there first"
        )
    if request.tag is None:
        return
    target = f"{config.gitlab.project}@{config.gitlab.target_branch}"
    policy.ensure_not_older(
        deployed[0], request.tag, request.force, where=f"deployed on {target}"
    )
    if keep is not None and old is not None:
        policy.ensure_not_older(
            old.tag, request.tag, request.force, where=f"proposed in !{keep.iid}"
        )


def _superseded(old: DeployRecord | None, tag: str | None) -> tuple[str, ...]:
    """The tags this MR proposed before, oldest first, without ``tag``."""
    if old is None:
        return ()
    tags = (*old.superseded_tags, *((old.tag,) if old.tag else ()))
    return tuple(t for t in dict.fromkeys(tags) if t != tag)


def _description(
    config: Config, record: DeployRecord, edits: tuple[EditResult, ...]
) -> str:
    """The reviewer's description with the hidden record marker."""
    return render_description(
        record,
        merge_request_commands=command_lines(config.server.command_prefix),
        compare_url=_compare_url(config, record),
        # TODO: titles of the source project's merged MRs between the tags
        # need the bot to read the source project; absent until it may.
        changelog=(),
        diff_summary="".join(result.diff for result in edits),
    )


def _compare_url(config: Config, record: DeployRecord) -> str | None:
    """The source project's compare page between the old and new tags."""
    project = record.source.project if record.source else None
    if not (project and record.previous_tag and record.tag):
        return None
    if record.previous_tag == record.tag:
        return None
    base = str(config.gitlab.url).rstrip("/")
    return f"{base}/{project}/-/compare/{record.previous_tag}...{record.tag}"


# The flow, with GitLab


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
            if request.dry_run:
                return _dry_result(plan)
            return await carry_out(plan, config, gitlab)


async def fetch_snapshot(
    config: Config, gitlab: GitLab, request: DeployRequest
) -> Snapshot:
    """Read the manifests at one target head, and the key's open bot MRs."""
    app, env = request.app, request.environment
    paths = [path for path, _ in targets(config, app, env)]
    target = config.gitlab.target_branch

    first, found = await asyncio.gather(
        _fetch_manifest(gitlab, paths[0], target),
        gitlab.fetch_open_merge_requests(target, labels=(f"app::{app}", f"env::{env}")),
    )
    others = await asyncio.gather(
        *(_fetch_manifest(gitlab, path, first.commit_id) for path in paths[1:])
    )
    branch = config.branch_name(app, env)
    return Snapshot(
        head_sha=first.commit_id,
        files=(first, *others),
        merge_requests=tuple(
            mr for mr in found if is_bot_merge_request(mr, branch, app, env)
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


async def carry_out(plan: Plan, config: Config, gitlab: GitLab) -> DeployResult:
    """Commit, then create or update the MR, then close duplicates."""
    if not plan.changed:
        return await _nothing_to_change(plan, gitlab)

    commit = None
    if not (plan.same_request and await _is_current(plan, gitlab)):
        commit = await gitlab.commit_branch(
            plan.branch,
            start_sha=plan.head_sha,
            message=_commit_message(plan),
            actions=[
                FileAction("update", result.path, result.text)
                for result in plan.edits
                if result.changed
            ],
        )

    if plan.keep is None:
        mr, status = await _open(plan, config, gitlab)
    else:
        mr = await _refresh(plan, plan.keep, gitlab)
        wrote = commit is not None or mr is not plan.keep
        status = "updated" if wrote else "unchanged"
    await _close_duplicates(plan.duplicates, mr, gitlab)

    log.info("deployed", status=status, iid=mr.iid, tag=plan.request.tag)
    return _result(plan, status, mr, None if commit is None else commit.sha)


async def _is_current(plan: Plan, gitlab: GitLab) -> bool:
    """True when the MR branch is already "our head + this change" (a replay)."""
    try:
        branch = await gitlab.fetch_branch(plan.branch)
    except GitLabNotFound:
        return False
    return branch.parent_ids == (plan.head_sha,)


async def _open(plan: Plan, config: Config, gitlab: GitLab) -> tuple[MergeRequest, str]:
    """Create the MR, or adopt the open one GitLab names.

    GitLab names one when our create was applied but its answer was lost
    (then the description is ours already: "opened"), or when a bot MR
    lost its labels and escaped the listing ("updated").
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
        status = "opened" if existing.description == plan.description else "updated"
        mr = await _refresh(plan, existing, gitlab)
    await _ensure_approval_rule(plan, config, gitlab, mr, is_new=status == "opened")
    return mr, status


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

    Labels are added, never replaced: a human's ``gitops::hold`` stays.
    """
    fields: dict[str, Any] = {}
    if mr.title != plan.title:
        fields["title"] = plan.title
    if mr.description != plan.description:
        fields["description"] = plan.description
    missing = [label for label in plan.labels if label not in mr.labels]
    if missing:
        fields["add_labels"] = ",".join(missing)
    if not fields:
        return mr
    return await gitlab.update_merge_request(mr.iid, **fields)


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
    """What the request would do, with the diff; nothing was written."""
    if not plan.changed:
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
