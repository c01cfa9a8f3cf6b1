"""The pure half of the deploy flow: check, edit, order versions, render.

Nothing here talks to GitLab or logs; each function returns or raises.
"""

from __future__ import annotations

from dataclasses import replace

from bot import policy
from bot.chatops import command_lines
from bot.chatops.pins import describe_pin, pin_markdown, read_pin, with_pin
from bot.config import Config
from bot.deploy.changelog import changelog_span
from bot.deploy.model import (
    DeployRequest,
    ManifestMismatch,
    ManifestUnusable,
    Pinned,
    Plan,
    Snapshot,
    TargetMoved,
)
from bot.gitlab import MergeRequest, RepositoryFile
from bot.manifests import EditResult, Target, edit, find_current
from bot.manifests.errors import ManifestError, RepositoryMismatch
from bot.manifests.splice import unified_diff
from bot.record import (
    DeployRecord,
    Pin,
    parse_marker,
    render_description,
    render_marker,
)


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
    """The (path, editor target) of every manifest of ``app`` in ``env``.

    A configured key is trusted where nothing beside its value names a
    repository (the edit carries a note); a different repository is refused.
    """
    return tuple(
        (
            m.path,
            Target(
                kind=m.kind,
                image=m.image,
                key=m.key,
                policy=m.policy,
                require_repository=False,
            ),
        )
        for m in config.app(app).manifests_for(env)
    )


def is_bot_merge_request(
    mr: MergeRequest, branch: str, app: str, env: str, bot_user_id: int | None
) -> bool:
    """True for the bot's MR of the key: opened by the bot (``bot_user_id``),
    on its branch or carrying its record. A human's MR with the branch name,
    or a copied record and labels, is never one: it is neither kept as the
    survivor nor closed as a duplicate."""
    if mr.author_id is None or mr.author_id != bot_user_id:
        return False
    if mr.source_branch == branch:
        return True
    record = parse_marker(mr.description)
    return record is not None and (record.app, record.environment) == (app, env)


def plan_deploy(config: Config, request: DeployRequest, snapshot: Snapshot) -> Plan:
    """Decide the commit and the merge request; raise on a refused order."""
    app, env = request.app, request.environment
    pairs = zip(targets(config, app, env), snapshot.files, strict=True)
    edits = tuple(
        _edit(request, path, target, file.content) for (path, target), file in pairs
    )
    keep, duplicates = _survivor(snapshot.merge_requests)
    old = None if keep is None else parse_marker(keep.description)
    deployed = _deployed(config, request, snapshot.files[0])

    pinned = read_pin(snapshot.files[0].content)
    _ensure_order(config, request, deployed, keep, old, pinned)
    pin = _pin_of(request, old, pinned)
    if pin != pinned:
        edits = (_with_pin_line(edits[0], pin), *edits[1:])
    record = _record(config, request, deployed, old, pin)
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
        snapshot=snapshot,
    )


def _edit(request: DeployRequest, path: str, target: Target, text: str) -> EditResult:
    """Edit one manifest. The request is valid by now, so a refusal is the
    fault of the configuration or the GitOps repository (422)."""
    try:
        return edit(text, path, target, tag=request.tag, digest=request.digest)
    except RepositoryMismatch as error:
        raise ManifestMismatch(
            f"manifest does not match the app {request.app}: {error}"
        ) from error
    except ManifestError as error:
        raise ManifestUnusable(
            f"manifest cannot take the deploy of {request.app}: {error}"
        ) from error


def _record(
    config: Config,
    request: DeployRequest,
    deployed: tuple[str | None, str | None],
    old: DeployRecord | None,
    pin: Pin | None,
) -> DeployRecord:
    """The record the merge request will carry for ``request``."""
    return DeployRecord(
        app=request.app,
        environment=request.environment,
        image=config.app(request.app).image,
        tag=request.tag,
        digest=request.digest,
        previous_tag=deployed[0],
        previous_digest=deployed[1],
        source=request.source,
        superseded_tags=_superseded(old, request.tag),
        requested_by=request.requested_by,
        pin=pin,
    )


def replan_with(config: Config, plan: Plan, found: tuple[MergeRequest, ...]) -> Plan:
    """Plan again with ``found`` (open MRs on the bot's branch that escaped
    the label listing) among the candidates: version-checked like the rest.

    Raises the refusal ``plan_deploy`` raises, before anything is written.
    """
    known = {mr.iid for mr in plan.snapshot.merge_requests}
    extra = tuple(mr for mr in found if mr.iid not in known)
    snapshot = replace(
        plan.snapshot, merge_requests=plan.snapshot.merge_requests + extra
    )
    return plan_deploy(config, plan.request, snapshot)


def with_changelog(config: Config, plan: Plan, titles: tuple[str, ...] | None) -> Plan:
    """The plan whose description lists ``titles`` (the merged MRs).

    ``titles`` None means they are unknown (not fetched, or the fetch
    failed): an MR that already describes this very deployment keeps its
    description, changelog included, instead of losing it.
    """
    if titles is None:
        kept = _kept_description(plan)
        if kept is not None:
            return replace(plan, description=kept)
    description = _description(config, plan.record, plan.edits, titles or ())
    return replace(plan, description=description)


def with_commit(plan: Plan, sha: str) -> Plan:
    """The plan whose record names ``sha``, the branch commit the bot wrote
    (render the description again with ``with_changelog``)."""
    return replace(plan, record=replace(plan.record, commit=sha))


def _kept_description(plan: Plan) -> str | None:
    """The kept MR's description when it describes this very deployment,
    its marker brought up to the plan's commit; None otherwise."""
    old = None if plan.keep is None else parse_marker(plan.keep.description)
    if plan.keep is None or old is None or not plan.record.same_deployment(old):
        return None
    description = plan.keep.description or ""
    marker = render_marker(old)
    if old.commit != plan.record.commit and marker not in description:
        return None
    return description.replace(marker, render_marker(plan.record))


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
    pinned: Pin | None,
) -> None:
    """Refuse a pinned key, and a tag older than the deployed or proposed one."""
    proposed = old.pin if old is not None else None
    pin = proposed or pinned
    if pin is not None and not _may_pass_pin(request, pin):
        in_mr = keep.iid if proposed is not None and keep is not None else None
        where = f"in !{in_mr}" if in_mr else f"on {config.gitlab.target_branch}"
        on = f"!{in_mr}" if in_mr else "the merge request that pinned it"
        unpin = f"`{config.server.command_prefix} unpin`"
        lift = f"({where}); to lift it, comment {unpin} on {on}, or deploy with force"
        pinned_to = f"{request.app} in {request.environment} is pinned to"
        raise Pinned(
            f"{pinned_to} {describe_pin(pin)} {lift}",
            markdown=f"{pinned_to} {pin_markdown(pin)} {lift}",
        )
    if request.tag is None:
        return
    _ensure_not_older_than_target(config, request, request.tag, deployed[0])
    if keep is not None and old is not None:
        policy.ensure_not_older(
            old.tag, request.tag, request.force, where=f"proposed in !{keep.iid}"
        )


def _ensure_not_older_than_target(
    config: Config, request: DeployRequest, tag: str, deployed: str | None
) -> None:
    """Refuse a tag older than the target's, unless forced; a rebuild is
    refused (``TargetMoved``) only once the target moved since it was planned."""
    where = f"deployed on {config.gitlab.project}@{config.gitlab.target_branch}"
    rebuilt = request.rebuild_of
    if rebuilt is None:
        policy.ensure_not_older(deployed, tag, request.force, where=where)
        return
    if deployed == rebuilt.previous_tag:
        return
    try:
        policy.ensure_not_older(deployed, tag, False, where=where)
    except policy.OlderTag as error:
        raise TargetMoved(str(error)) from error


def _may_pass_pin(request: DeployRequest, pin: Pin) -> bool:
    """Whether a request may go past a pin: the pinned tag, force, unpin, or a
    rebuild (which passes its own pin on explicitly, see ``_pin_of``)."""
    return (
        request.force
        or request.unpin
        or request.rebuild_of is not None
        or request.tag == pin.tag
    )


def _pin_of(
    request: DeployRequest, old: DeployRecord | None, pinned: Pin | None
) -> Pin | None:
    """The pin this MR leaves in the repository: set, lifted, or kept.

    A forced request goes past a pin and lifts it; regenerating a pinned
    merge request passes its pin again.
    """
    if request.pin is not None:
        return request.pin
    if request.unpin or request.force or request.rebuild_of is not None:
        return None
    proposed = old.pin if old is not None else None
    return proposed or pinned


def _with_pin_line(result: EditResult, pin: Pin | None) -> EditResult:
    """The first manifest's edit with the pin line set or removed."""
    text = with_pin(result.text, pin)
    return replace(
        result, text=text, diff=unified_diff(result.path, result.original, text)
    )


def _superseded(old: DeployRecord | None, tag: str | None) -> tuple[str, ...]:
    """The tags this MR proposed before, oldest first, without ``tag``."""
    if old is None:
        return ()
    tags = (*old.superseded_tags, *((old.tag,) if old.tag else ()))
    return tuple(t for t in dict.fromkeys(tags) if t != tag)


def _description(
    config: Config,
    record: DeployRecord,
    edits: tuple[EditResult, ...],
    changelog: tuple[str, ...] = (),
) -> str:
    """The reviewer's description with the hidden record marker.

    ``changelog`` is filled in by the flow (``with_changelog``), which may
    read the source project; planning alone never does.
    """
    return render_description(
        record,
        merge_request_commands=command_lines(config.server.command_prefix),
        compare_url=_compare_url(config, record),
        changelog=changelog,
        diff_summary="".join(result.diff for result in edits),
    )


def _compare_url(config: Config, record: DeployRecord) -> str | None:
    """The source project's compare page between the old and new tags."""
    span = changelog_span(record)
    if span is None:
        return None
    base = str(config.gitlab.url).rstrip("/")
    return f"{base}/{span.project}/-/compare/{span.previous_tag}...{span.tag}"
