"""Who may run which command: GitLab access levels and refusals.

Each command has a minimum access level in the GitOps project, configured per
environment: ``EnvironmentConfig.commands`` (complete, defaults filled in by
``bot.config``) and ``override_access_level`` for ``MERGE_DURING_FREEZE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.record import code_span

MERGE_DURING_FREEZE = "merge-during-freeze"
OWNER = 50

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
    access levels; a name it lacks needs Owner, so a gap fails closed.
    """
    needed = required.get(command_name, OWNER)
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
