"""The gate and the merge request's notes: unanswered commands, who held."""

from __future__ import annotations

from bot.gate import HOLD_LABEL, CancelAutoMerge, Merge, Reason, Wait, decide
from bot.gate.report import status_report
from tests.gate.factories import HEAD, ready

HELD = ("gitops-bot", HOLD_LABEL)


def test_unanswered_commands_block_the_merge() -> None:
    """A ready merge request waits while a command note is unanswered (a lost
    hold must win), naming the notes."""
    decision = decide(ready(pending_commands=(33, 35)))
    assert decision == Wait(
        (
            Reason(
                "commands_pending",
                "comment commands not answered yet (note 33, 35); "
                "the bot runs them before any merge",
            ),
        )
    )
    assert decide(ready(pending_commands=())) == Merge(HEAD)


def test_unanswered_commands_cancel_gitlabs_auto_merge() -> None:
    """GitLab's auto-merge knows nothing of our notes: it is cancelled."""
    state = ready(pending_commands=(33,), mr__merge_when_pipeline_succeeds=True)
    assert isinstance(decide(state), CancelAutoMerge)


def test_status_names_who_held_and_why() -> None:
    """`status` says who held the merge request and why, as text no mention
    or Markdown in the reason can break out of."""
    state = ready(mr__labels=HELD, held_by="bob", hold_reason="incident @ops *now*")
    report = status_report(decide(state), state)
    assert (
        "- `held`: held by `bob`: incident @\u200bops \\*now\\*; `unhold` lifts it"
        in report
    )


def test_hold_without_a_known_author() -> None:
    """A hold label put on by hand names nobody."""
    state = ready(mr__labels=HELD)
    (reason,) = decide(state).reasons
    assert reason == Reason("held", "held; `unhold` lifts it")
