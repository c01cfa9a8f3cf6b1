"""Who may run which command: GitLab access levels and refusals.

Each command has a minimum access level in the GitOps project, configurable per
environment; the defaults below are what ``bot/config.py`` falls back to
(coupling: change both together).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.record import code_span

MERGE_DURING_FREEZE = "merge-during-freeze"

ACCESS_LEVELS: Mapping[int, str] = {
    0: "no",
    5: "Minimal",
    10: "Guest",
    15: "Planner",
    20: "Reporter",
    25: "Security Manager",
    30: "Developer",
    40: "Maintainer",
    50: "Owner",
    60: "Admin",
}

# Defaults for the configuration; production-like environments take the strict
# table. Coupling: bot/config.py documents these as the per-environment default.
DEFAULT_REQUIRED_ACCESS: Mapping[str, int] = {
    "help": 10, "status": 10, "merge": 30, "hold": 30, "unhold": 30,
    "recreate": 30, "retry": 30, "promote": 30, "pin": 40, "unpin": 40,
    "close": 40, MERGE_DURING_FREEZE: 40,
}  # fmt: skip
STRICT_REQUIRED_ACCESS: Mapping[str, int] = {
    **DEFAULT_REQUIRED_ACCESS,
    "merge": 40, "unhold": 40, "recreate": 40, "promote": 40,
    MERGE_DURING_FREEZE: 50,
}  # fmt: skip


@dataclass(frozen=True)
class Refusal:
    """A command refused for lack of access; ``message`` names who lacks what."""

    command: str
    actor: str
    actor_level: int
    required_level: int
    environment: str
    message: str


def check_permission(
    command_name: str,
    actor_level: int,
    required: Mapping[str, int],
    *,
    actor: str,
    environment: str,
) -> Refusal | None:
    """Return a Refusal when ``actor_level`` is below the command's minimum.

    ``required`` maps command names (and ``MERGE_DURING_FREEZE``) to GitLab
    access levels; a name it lacks takes ``DEFAULT_REQUIRED_ACCESS``, and a
    name unknown there too needs Owner, so a gap in configuration fails closed.
    """
    needed = required.get(command_name, DEFAULT_REQUIRED_ACCESS.get(command_name, 50))
    if actor_level >= needed:
        return None

    what = (
        "`merge` during a freeze"
        if command_name == MERGE_DURING_FREEZE
        else code_span(command_name)
    )
    has = (
        f"@{actor} has {access_level_name(actor_level)} access"
        if actor_level > 0
        else f"@{actor} is not a member of the GitOps project"
    )
    message = f"{has}; {what} on {environment} needs {access_level_name(needed)}"
    return Refusal(command_name, actor, actor_level, needed, environment, message)


def access_level_name(level: int) -> str:
    """Return GitLab's role name for an access level (``40`` -> ``Maintainer``)."""
    known = [value for value in ACCESS_LEVELS if value <= level]
    return ACCESS_LEVELS[max(known)] if known else ACCESS_LEVELS[0]
