"""What each comment command does, once its caller may run it.

Each runner takes an ``Invocation`` and returns the Markdown answer; a
refusal that policy or GitLab gives is raised (``GitopsBotError``) and the
handler turns it into the reply. Arguments only ever become fields of
GitLab API calls or of a deploy request: nothing reaches a shell.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from bot import deploy, policy
from bot.chatops.grammar import help_text
from bot.chatops.ledger import merge_key
from bot.chatops.pins import pin_markdown, read_pin
from bot.errors import Refused
from bot.gate.execute import FAILED_LABEL, GateOutcome
from bot.gate.model import HOLD_LABEL, MERGE_REQUESTED_LABEL
from bot.gate.report import FINAL_STATES, status_report
from bot.gitlab import MergeRequest
from bot.record import (
    DeployRecord,
    Pin,
    code_span,
    inline_text,
    parse_marker,
    read_marker,
)

if TYPE_CHECKING:
    from bot.chatops.handlers import Invocation

RETRYABLE = frozenset({"failed", "canceled"})
# Gate outcomes after which a `merge` command is remembered for later.
REMEMBERED = frozenset({"waiting", "reported", "regenerated", "not-merged"})


class NotApplicable(Refused):
    """The command makes no sense in the merge request's present state."""

    http_status = 409


class Remembered(str):
    """A ``merge`` answer whose request the gate keeps for ``merge_for`` (the
    tag or digest): the reply's marker records it (``bot.chatops.ledger``)."""

    merge_for: str | None

    def __new__(cls, text: str, merge_for: str | None) -> Remembered:
        """The answer ``text``, remembering a ``merge`` for ``merge_for``."""
        made = super().__new__(cls, text)
        made.merge_for = merge_for
        return made


async def status(invocation: Invocation) -> str:
    """Explain every blocker, as the gate sees them now."""
    evaluated = await invocation.gate.evaluate(
        invocation.context, invocation.mr.iid, notes=invocation.notes
    )
    if evaluated is None:
        raise NotApplicable(no_record(invocation.mr))
    fetched, decision = evaluated
    return status_report(decision, fetched.state)


async def merge(invocation: Invocation) -> str:
    """Merge now if every check passes; a freeze yields to the override level
    (the handler checked it). When something else still blocks, the reply's
    marker remembers the request for this tag, so the gate merges once the
    blockers clear; a label shows it."""
    outcome = await invocation.gate.run_locked(
        invocation.context,
        invocation.mr.iid,
        merge_requested=True,
        freeze_overridden=True,
        notes=invocation.notes,
    )
    if outcome.action not in REMEMBERED or not _still_open(outcome):
        return describe_outcome(outcome)

    if MERGE_REQUESTED_LABEL not in invocation.mr.labels:
        await invocation.context.gitlab.update_merge_request(
            invocation.mr.iid, add_labels=MERGE_REQUESTED_LABEL
        )
    remembered = (
        f"Labelled {code_span(MERGE_REQUESTED_LABEL)}: the bot merges once these "
        "clear, without another command."
    )
    assert outcome.fetched is not None  # _still_open checked it
    if outcome.fetched.state.policy.freeze is not None:
        remembered += " The freeze override counts only for a merge made now."
    key = merge_key(outcome.fetched.record)
    return Remembered(f"{describe_outcome(outcome)}\n\n{remembered}", key)


def _still_open(outcome: GateOutcome) -> bool:
    """Whether the gate saw the merge request open."""
    return outcome.fetched is not None and outcome.fetched.mr.state == "opened"


async def hold(invocation: Invocation) -> str:
    """Put the hold label on and cancel GitLab's auto-merge if it is set (it
    would merge through the hold); the gate waits until ``unhold``."""
    reason = " ".join(invocation.command.args)
    gitlab, mr = invocation.context.gitlab, invocation.mr
    await gitlab.update_merge_request(mr.iid, add_labels=HOLD_LABEL)
    cancelled = ""
    if mr.merge_when_pipeline_succeeds:
        await gitlab.cancel_auto_merge(mr.iid)
        cancelled = " GitLab's auto-merge was cancelled."
    why = f": {inline_text(reason)}" if reason else ""
    return f"Held by {code_span(invocation.actor)}{why}. `unhold` lifts it.{cancelled}"


async def unhold(invocation: Invocation) -> str:
    """Lift the hold (the notes' and the label), then run the gate."""
    mr, notes = invocation.mr, invocation.notes
    if HOLD_LABEL not in mr.labels and not notes.held:
        raise NotApplicable(f"!{mr.iid} is not held")
    if HOLD_LABEL in mr.labels:
        await invocation.context.gitlab.update_merge_request(
            mr.iid, remove_labels=HOLD_LABEL
        )
    lifted = replace(notes, held=False, held_by=None, hold_reason=None)
    outcome = await invocation.gate.run_locked(invocation.context, mr.iid, notes=lifted)
    return f"Hold lifted. {describe_outcome(outcome)}"


async def recreate(invocation: Invocation) -> str:
    """Rebuild the branch from the target head with the same change."""
    result = await invocation.gate.regenerate(invocation.context, _record(invocation))
    if result.commit is None:
        return "The branch is already the target head plus this change."
    return f"Rebuilt the branch on the target head: commit {code_span(result.commit)}."


async def retry(invocation: Invocation) -> str:
    """Retry the failed jobs of the head pipeline."""
    pipeline = invocation.mr.head_pipeline
    if pipeline is None:
        raise NotApplicable(f"!{invocation.mr.iid} has no pipeline to retry")
    if pipeline.status not in RETRYABLE:
        raise NotApplicable(
            f"pipeline #\u200b{pipeline.id} is {pipeline.status}; only failed or "
            "canceled pipelines are retried"
        )
    await invocation.context.gitlab.retry_pipeline(pipeline.id)
    if FAILED_LABEL in invocation.mr.labels:
        await invocation.context.gitlab.update_merge_request(
            invocation.mr.iid, remove_labels=FAILED_LABEL
        )
    return f"Retrying the failed jobs of pipeline #\u200b{pipeline.id}."


async def promote(invocation: Invocation) -> str:
    """Open (or update) the same image for another environment."""
    record = _record(invocation)
    target = invocation.command.args[0]
    if target == record.environment:
        raise NotApplicable(f"this merge request already deploys to {target}")
    request = deploy.DeployRequest.from_record(
        record, environment=target, requested_by=invocation.actor
    )
    result = await _deploy(invocation, request)
    return f"Promotion to {inline_text(target)}: {describe_result(result)}"


async def pin(invocation: Invocation) -> str:
    """Re-target this merge request to a tag and pin (app, environment).

    The reply names the tag the merge request proposed before, when the pin
    replaces it. A pin the target branch already holds, on the tag it runs,
    leaves nothing to merge: the deploy flow closes the merge request.
    """
    record = _record(invocation)
    tag, *reason = invocation.command.args
    new_pin = Pin(tag=tag, reason=" ".join(reason) or None, by=invocation.actor)
    request = deploy.DeployRequest.from_record(
        record,
        force=True,
        requested_by=invocation.actor,
        tag=tag,
        digest=None,
        pin=new_pin,
    )
    result = await invocation.gate.deploy(invocation.context, request)
    pinned = pin_markdown(new_pin)
    if result.merge_request is None:
        return (
            f"{_target(invocation)} already holds this pin ({pinned}): this "
            "merge request changes nothing, so it is closed."
        )
    previous = record.tag or record.digest
    dropped = ""
    if previous is not None and previous != tag:
        dropped = f" This merge request no longer proposes {code_span(previous)}."
    return (
        f"Pinned to {pinned} once this merges: {describe_result(result)}{dropped} "
        "Later deploys are refused until `unpin`."
    )


async def unpin(invocation: Invocation) -> str:
    """Remove the pin: in this merge request while it is open; once it merged
    or closed, in the bot's open merge request of its environment (opened or
    updated, like ``promote``), keeping its tag and refusing an older one.

    A closed merge request without a pin has nothing to lift: refused before
    any deploy (which could only be a rollback to its tag). Nor has a closed
    one whose pin never merged while the target branch holds no pin, nor an
    open one without a pin while the target branch holds none: nothing is
    written (a deploy would only re-propose the merge request's tag).

    When the target branch already runs the tag without a pin, there is
    nothing left to merge: the deploy flow closes the open merge request
    (this one, if open), and the reply says so.
    """
    record = _record(invocation)
    mr = invocation.mr
    if mr.state == "closed" and record.pin is None:
        raise NotApplicable(f"!{mr.iid} is closed and carries no pin; nothing to unpin")
    final = mr.state in FINAL_STATES
    request = deploy.DeployRequest.from_record(
        record, force=not final, requested_by=invocation.actor, unpin=True
    )
    if mr.state != "merged" and not await _target_pinned(invocation, request):
        if mr.state == "closed":
            raise NotApplicable(
                f"!{mr.iid} is closed and its pin never merged; nothing to unpin"
            )
        if record.pin is None:
            return (
                f"Nothing to unpin: !{mr.iid} carries no pin and "
                f"{_target(invocation)} holds none."
            )
    result = await _deploy(invocation, request)
    if result.merge_request is None:
        what = code_span(result.tag or result.digest or "")
        target = _target(invocation)
        if final:
            return f"No pin to remove: {target} runs {what} without one."
        return (
            "Pin removed: with it gone this merge request changes nothing "
            f"({what} is what {target} runs), so it is closed."
        )
    where = "it" if final else "this"
    return f"The pin is removed once {where} merges: {describe_result(result)}"


async def close(invocation: Invocation) -> str:
    """Close the merge request and delete its branch."""
    gitlab = invocation.context.gitlab
    await gitlab.close_merge_request(invocation.mr.iid)
    await gitlab.delete_branch(invocation.mr.source_branch)
    branch = code_span(invocation.mr.source_branch)
    return f"Closed !{invocation.mr.iid} and deleted {branch}."


def describe_outcome(outcome: GateOutcome) -> str:
    """One paragraph on what the gate did."""
    if outcome.action == "merged":
        return f"Merged !{outcome.iid}."
    if outcome.action == "auto-merge-set":
        return "GitLab's auto-merge is set for the head."
    reasons = outcome.decision.reasons if outcome.decision else ()
    listed = "\n".join(f"- `{reason.code}`: {reason.text}" for reason in reasons)
    what = {
        "regenerated": "The branch was rebuilt on the target head.",
        "reported": "The head pipeline failed.",
        "auto-merge-cancelled": "GitLab's auto-merge was cancelled.",
        "not-merged": f"GitLab did not merge: {outcome.detail}",
        "skipped": "This is not a bot merge request the gate can read.",
    }.get(outcome.action, "Not merged yet; the merge happens once these clear:")
    return f"{what}\n\n{listed}" if listed else what


def describe_result(result: deploy.DeployResult) -> str:
    """What a deploy did, for a reply."""
    mr = result.merge_request
    where = f" in !{mr.iid}" if mr is not None else ""
    return f"{result.status}{where} ({code_span(result.tag or result.digest or '')})."


async def _target_pinned(invocation: Invocation, request: deploy.DeployRequest) -> bool:
    """Whether the target branch holds a pin for the request's key (read
    from its manifest at the target head)."""
    context = invocation.context
    snapshot = await deploy.fetch_snapshot(context.config, context.gitlab, request)
    return read_pin(snapshot.files[0].content) is not None


def _target(invocation: Invocation) -> str:
    """The target branch, as a code span."""
    return code_span(invocation.context.config.gitlab.target_branch)


async def _deploy(
    invocation: Invocation, request: deploy.DeployRequest
) -> deploy.DeployResult:
    """Deploy for a command; an older tag's refusal names what a comment can
    do instead of the API's ``force``."""
    try:
        return await invocation.gate.deploy(invocation.context, request)
    except policy.OlderTag as error:
        reason = str(error).removesuffix(policy.FORCE_ADVICE)
        prefix = invocation.context.config.server.command_prefix
        pin = code_span(f"{prefix} pin <tag>")
        raise NotApplicable(
            f"{reason}; a rollback needs a forced deploy or {pin}"
        ) from error


def _record(invocation: Invocation) -> DeployRecord:
    """The merge request's deploy record."""
    record = parse_marker(invocation.mr.description)
    if record is None:
        raise NotApplicable(no_record(invocation.mr))
    return record


def no_record(mr: MergeRequest) -> str:
    """Say that ``mr`` has no readable deploy record, and why."""
    why = read_marker(mr.description).problem or "no record marker in the description"
    return f"!{mr.iid} carries no readable deploy record ({why})"


async def _help(invocation: Invocation) -> str:
    """``help`` among other commands: the list, with this environment's levels."""
    config = invocation.context.config
    record = parse_marker(invocation.mr.description)
    required = (
        config.environment(record.environment).commands
        if record is not None and record.environment in config.environments
        else None
    )
    return help_text(config.server.command_prefix, required=required)


RUNNERS: dict[str, Callable[[Invocation], Awaitable[str]]] = {
    "help": _help,
    "status": status,
    "merge": merge,
    "hold": hold,
    "unhold": unhold,
    "recreate": recreate,
    "retry": retry,
    "promote": promote,
    "pin": pin,
    "unpin": unpin,
    "close": close,
}
