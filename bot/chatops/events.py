"""Whether a note webhook concerns the bot at all, decided on our own type.

Faults other merge bots shipped, each refused here: an edited note re-running
its command, a note on a commit, issue or snippet crashing the handler, the bot
answering its own reply, and commands on merge requests it does not own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.record import has_marker

BOT_LABEL = "gitops-bot"


@dataclass(frozen=True)
class NoteEvent:
    """The parts of a GitLab note webhook that decide whether the bot reacts."""

    noteable_type: str
    action: str
    is_system: bool
    author_id: int | None
    author_username: str
    bot_user_id: int
    body: str
    note_id: int | None = None
    project_id: int | None = None
    mr_iid: int | None = None
    mr_author_id: int | None = None
    mr_labels: tuple[str, ...] = ()
    mr_has_marker: bool = False

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], *, bot_user_id: int) -> NoteEvent:
        """Read a note webhook body of any shape (commit, issue, snippet, junk).

        Missing or mistyped fields become None or empty, never an exception.
        A payload without ``action`` (GitLab before 16.11) counts as ``create``.
        """
        attributes = _mapping(payload.get("object_attributes"))
        user = _mapping(payload.get("user"))
        mr = _mapping(payload.get("merge_request"))
        return cls(
            noteable_type=_string(attributes.get("noteable_type")),
            action=_string(attributes.get("action")) or "create",
            is_system=attributes.get("system") is True,
            author_id=_integer(user.get("id")) or _integer(attributes.get("author_id")),
            author_username=_string(user.get("username")),
            bot_user_id=bot_user_id,
            body=_string(attributes.get("note")),
            note_id=_integer(attributes.get("id")),
            project_id=_integer(payload.get("project_id")),
            mr_iid=_integer(mr.get("iid")),
            mr_author_id=_integer(mr.get("author_id")),
            mr_labels=_label_titles(mr.get("labels")),
            mr_has_marker=has_marker(mr.get("description")),
        )


def note_skip_reason(event: NoteEvent, bot_label: str = BOT_LABEL) -> str | None:
    """Return why the bot ignores a note event, or None when it should react.

    Edited notes never re-run; only new human notes on merge requests the bot
    opened (authored by the bot and carrying its record or label) count.
    """
    where = f"!{event.mr_iid}" if event.mr_iid is not None else "the merge request"
    checks = [
        (event.noteable_type != "MergeRequest",
         f"note on {event.noteable_type or 'an unknown object'}, not a merge request"),
        (event.action != "create",
         f"note {event.action}: commands run only when a note is created"),
        (event.is_system, "system note"),
        (event.author_id == event.bot_user_id, "the bot's own note"),
        (event.mr_iid is None, "the payload names no merge request"),
        (event.mr_author_id != event.bot_user_id, f"{where} was not opened by the bot"),
        (not (event.mr_has_marker or bot_label in event.mr_labels),
         f"{where} has neither the bot's record nor the {bot_label} label"),
    ]  # fmt: skip
    return next((reason for failed, reason in checks if failed), None)


def _mapping(value: object) -> Mapping[str, Any]:
    """Return ``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def _string(value: object) -> str:
    """Return ``value`` when it is a string, else ""."""
    return value if isinstance(value, str) else ""


def _integer(value: object) -> int | None:
    """Return ``value`` when it is an integer (not a bool), else None."""
    return value if type(value) is int else None


def _label_titles(value: object) -> tuple[str, ...]:
    """Return label titles from a list of label objects or of strings."""
    if not isinstance(value, list):
        return ()
    titles = (
        item.get("title") if isinstance(item, Mapping) else item for item in value
    )
    return tuple(title for title in titles if isinstance(title, str))
