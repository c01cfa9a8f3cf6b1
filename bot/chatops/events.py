"""Whether a note concerns the bot at all, decided on our own types.

Faults other merge bots shipped, each refused here: an edited note re-running
its command, a note on a commit, issue or snippet crashing the handler, the bot
answering its own reply, and commands on merge requests it does not own.

The note is the server's ``NoteEvent`` (parsed at the edge); whether the
merge request is the bot's is read on the merge request as GitLab lists it,
not on the webhook's copy.
"""

from __future__ import annotations

from bot.gitlab import MergeRequest
from bot.record import has_marker
from bot.server.events import NoteEvent

BOT_LABEL = "gitops-bot"


def note_skip_reason(event: NoteEvent, bot_user_id: int | None = None) -> str | None:
    """Return why the bot ignores a note event, or None when it may react.

    Edited notes never re-run; only new human notes on a merge request count.
    Without ``bot_user_id`` the bot's own notes are not recognised yet (the
    checks that need no GitLab call).
    """
    checks = [
        (event.noteable_type != "MergeRequest",
         f"note on {event.noteable_type or 'an unknown object'}, not a merge request"),
        (event.action != "create",
         f"note {event.action}: commands run only when a note is created"),
        (event.system, "system note"),
        (event.author_id == bot_user_id, "the bot's own note"),
        (event.merge_request_iid is None, "the payload names no merge request"),
    ]  # fmt: skip
    return next((reason for failed, reason in checks if failed), None)


def merge_request_skip_reason(
    mr: MergeRequest, bot_user_id: int, bot_label: str = BOT_LABEL
) -> str | None:
    """Return why the bot leaves the notes of ``mr`` alone, or None when it
    opened ``mr`` (authored by the bot and carrying its record or label)."""
    checks = [
        (mr.author_id != bot_user_id, f"!{mr.iid} was not opened by the bot"),
        (not (has_marker(mr.description) or bot_label in mr.labels),
         f"!{mr.iid} has neither the bot's record nor the {bot_label} label"),
    ]  # fmt: skip
    return next((reason for failed, reason in checks if failed), None)
