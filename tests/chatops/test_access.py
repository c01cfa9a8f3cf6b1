"""Who may run which command, and how a refusal reads."""

from __future__ import annotations

import pytest

from bot.chatops import (
    MERGE_DURING_FREEZE,
    Command,
    Refusal,
    access_level_name,
    check_permission,
    format_refusal,
    format_reply,
    parse_note,
)
from bot.chatops.grammar import Ignore

# The shape bot.config gives an environment with approvals (production-like).
STRICT = {"help": 20, "status": 20, "merge": 40, "hold": 30, "pin": 40,
          MERGE_DURING_FREEZE: 50}  # fmt: skip
LAX = {"help": 20, "status": 20, "merge": 30, "hold": 30, "pin": 40}


@pytest.mark.parametrize(
    ("command", "level", "required", "message"),
    [
        ("merge", 30, STRICT,
         "@alice has Developer access; `merge` on production needs Maintainer"),
        ("pin", 20, LAX,
         "@alice has Reporter access; `pin` on production needs Maintainer"),
        ("hold", 0, LAX,
         "@alice is not a member of the GitOps project; `hold` on production needs "
         "Developer"),
        (MERGE_DURING_FREEZE, 40, STRICT,
         "@alice has Maintainer access; `merge` during a freeze on production needs "
         "Owner"),
        ("merge", 30, LAX, None),
        ("close", 40, LAX,
         "@alice has Maintainer access; `close` on production needs Owner"),
        ("merge", 40, STRICT, None),
        ("status", 20, STRICT, None),
        ("status", 10, STRICT,
         "@alice has Guest access; `status` on production needs Reporter"),
        ("merge", 60, {"merge": 50}, None),
        ("merge", 45, {"merge": 50}, "@alice has Maintainer access"),
    ],
)  # fmt: skip
def test_permission_checks(
    command: str, level: int, required: dict, message: str | None
):
    """A command below its level is refused naming who has what and what is needed."""
    refusal = check_permission(
        command, level, required, actor="alice", environment="production"
    )

    if message is None:
        assert refusal is None
    else:
        assert refusal is not None and message in refusal.message
        assert refusal.actor_level == level


@pytest.mark.parametrize(
    ("level", "name"),
    [(0, "no"), (10, "Guest"), (30, "Developer"), (40, "Maintainer"), (35, "Developer"),
     (50, "Owner"), (99, "Admin"), (-1, "no")],
)  # fmt: skip
def test_access_level_names(level: int, name: str):
    """Levels map to GitLab's role names; in-between values round down."""
    assert access_level_name(level) == name


def test_replies_quote_the_command_so_they_never_run_as_commands():
    """The bot's reply echoes the command in a quote, which the parser ignores."""
    command = Command("merge", (), "/gitops merge")
    refusal = Refusal("merge", "bob", 30, 40, "production", "@bob lacks it")

    reply = format_refusal(command, refusal)

    assert reply == "> `/gitops merge`\n\n@bob lacks it. Nothing was done."
    assert parse_note(reply, "/gitops") == Ignore()
    assert format_reply(command, "done").startswith("> `/gitops merge`")
