"""Who may run which command, and how a refusal reads."""

from __future__ import annotations

import pytest

from bot.chatops import (
    DEFAULT_REQUIRED_ACCESS,
    MERGE_DURING_FREEZE,
    STRICT_REQUIRED_ACCESS,
    Command,
    Refusal,
    access_level_name,
    check_permission,
    format_refusal,
    format_reply,
    parse_note,
)
from bot.chatops.grammar import Ignore


@pytest.mark.parametrize(
    ("command", "level", "required", "message"),
    [
        ("merge", 30, STRICT_REQUIRED_ACCESS,
         "@alice has Developer access; `merge` on production needs Maintainer"),
        ("pin", 20, DEFAULT_REQUIRED_ACCESS,
         "@alice has Reporter access; `pin` on production needs Maintainer"),
        ("hold", 0, DEFAULT_REQUIRED_ACCESS,
         "@alice is not a member of the GitOps project; `hold` on production needs "
         "Developer"),
        (MERGE_DURING_FREEZE, 40, STRICT_REQUIRED_ACCESS,
         "@alice has Maintainer access; `merge` during a freeze on production needs "
         "Owner"),
        ("merge", 30, {}, None),
        ("unknown-thing", 40, {}, "`unknown-thing` on production needs Owner"),
        ("merge", 40, STRICT_REQUIRED_ACCESS, None),
        ("status", 10, STRICT_REQUIRED_ACCESS, None),
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


def test_production_defaults_are_stricter():
    """No command needs less on the strict table than on the default one."""
    assert set(STRICT_REQUIRED_ACCESS) == set(DEFAULT_REQUIRED_ACCESS)
    for name, level in DEFAULT_REQUIRED_ACCESS.items():
        assert STRICT_REQUIRED_ACCESS[name] >= level
    assert STRICT_REQUIRED_ACCESS["merge"] > DEFAULT_REQUIRED_ACCESS["merge"]


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
