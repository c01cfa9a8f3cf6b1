"""Comment commands on bot merge requests: grammar, permissions and replies.

Pure code (STYLE.md habits 2 and 4), in three parts:

- ``grammar``: ``parse_note`` turns a note body into exactly one ``Commands``,
  ``Reply`` or ``Ignore``; help text and reply formatting.
- ``access``: ``check_permission`` names who lacks what.
- ``events``: ``note_skip_reason`` (on the server's ``NoteEvent``) and
  ``merge_request_skip_reason`` decide whether a note concerns the bot at all.
"""

from bot.chatops.access import (
    ACCESS_LEVELS,
    MERGE_DURING_FREEZE,
    Refusal,
    access_level_name,
    check_permission,
)
from bot.chatops.events import BOT_LABEL, merge_request_skip_reason, note_skip_reason
from bot.chatops.grammar import (
    COMMANDS,
    DEFAULT_PREFIX,
    Command,
    Commands,
    CommandSpec,
    Ignore,
    ParseResult,
    Reply,
    clean_reason,
    command_lines,
    format_refusal,
    format_reply,
    help_text,
    parse_note,
    visible_lines,
)

__all__ = [
    "ACCESS_LEVELS",
    "BOT_LABEL",
    "COMMANDS",
    "DEFAULT_PREFIX",
    "MERGE_DURING_FREEZE",
    "Command",
    "CommandSpec",
    "Commands",
    "Ignore",
    "ParseResult",
    "Refusal",
    "Reply",
    "access_level_name",
    "check_permission",
    "clean_reason",
    "command_lines",
    "format_refusal",
    "format_reply",
    "help_text",
    "merge_request_skip_reason",
    "note_skip_reason",
    "parse_note",
    "visible_lines",
]
