"""Who may deploy what where, which tags are acceptable, and when to merge.

Pure decisions over the validated configuration: nothing here reads files,
the environment or the network, and nothing logs. Each check either returns
or raises an error from :mod:`bot.errors` whose message names the rule.

Version ordering uses :mod:`packaging.version` rather than the ``semver``
package: packaging is already a dependency, accepts the tags teams really
push (``v1.4``, ``1.4.2``, ``v2.0.0-rc.1``, ``1.0.0-beta.2``) where semver
demands exactly three numbers, and orders pre-releases before releases.
Only tags that look like dotted versions are compared, so that a short git
SHA made only of digits, or a date, never makes a claim about order.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import regex
from packaging.version import InvalidVersion, Version

from bot.errors import InvalidInput, Refused
from bot.manifests import references

if TYPE_CHECKING:
    from bot.config import Config, EnvironmentConfig, Window

TAG_RE = re.compile(references.TAG_GRAMMAR)
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
# Longest a tag_pattern may take on one tag before the tag is refused.
TAG_PATTERN_SECONDS = 0.1
# "1.2", "v1.2.3", "1.2.3-rc.1", "1.2.3+build.7": at least one dot after the
# first number, so that digit-only SHAs and dates stay unordered.
_VERSION_LIKE = re.compile(r"[vV]?\d+(\.\d+)+([-.+_]?[0-9A-Za-z.+-]*)?")
# How ``OlderTag`` ends: the API's and the CLI's way past it.
FORCE_ADVICE = "; pass force to roll back"


class NotAllowed(Refused):
    """Policy does not let this source deploy this app to this environment."""

    http_status = 403


class OlderTag(Refused):
    """The requested tag is older than the one deployed or proposed."""

    http_status = 409


class InvalidReference(InvalidInput):
    """A malformed app or environment name, tag or digest in a request."""

    http_status = 400


class AccessLevel(enum.IntEnum):
    """GitLab's membership access levels, with GitLab's numbers."""

    NONE = 0
    GUEST = 10
    REPORTER = 20
    DEVELOPER = 30
    MAINTAINER = 40
    OWNER = 50

    @classmethod
    def parse(cls, name: str) -> AccessLevel:
        """Return the level called ``name`` (``developer``), case-insensitive.

        Raises ``ValueError`` naming the accepted names.
        """
        try:
            level = cls[name.strip().upper()]
        except KeyError:
            level = cls.NONE
        if level is cls.NONE:
            raise ValueError(f"expected one of {', '.join(LEVEL_NAMES)}")
        return level

    @classmethod
    def from_gitlab(cls, value: int) -> AccessLevel:
        """Return the highest known level not above GitLab's number ``value``.

        GitLab also has minimal access (5) and planner (15); rounding down
        never grants more than the member holds.
        """
        known = [level for level in cls if level <= value]
        return max(known) if known else cls.NONE

    @property
    def label(self) -> str:
        """The lower-case name used in configuration and replies."""
        return self.name.lower()


LEVEL_NAMES = ("guest", "reporter", "developer", "maintainer", "owner")


class Ordering(enum.Enum):
    """How a new tag relates to an old one."""

    OLDER = "older"
    SAME = "same"
    NEWER = "newer"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class FreezeState:
    """Why an environment may not merge now, and until when.

    ``until`` is ``None`` when the windows never open again (a freeze that
    covers the whole week, or merge windows on no day at all).
    """

    reason: str
    window: Window | None
    until: datetime | None

    def describe(self) -> str:
        """One line for ``status`` replies and logs."""
        if self.until is None:
            return f"{self.reason}, indefinitely"
        return f"{self.reason}, until {self.until:%Y-%m-%d %H:%M %Z}"


def validate_name(kind: str, value: str) -> str:
    """Return ``value`` when it is a valid app or environment name."""
    if not NAME_RE.fullmatch(value):
        raise InvalidReference(
            f"invalid {kind} name {value!r}: expected lower-case letters, digits "
            "and '-', at most 63, starting with a letter or digit"
        )
    return value


def validate_tag(tag: str) -> str:
    """Return ``tag`` when it follows the OCI tag grammar."""
    return _checked(
        references.validate_tag,
        tag,
        f"invalid tag {tag!r}: expected at most 128 of A-Z a-z 0-9 _ . -, "
        "not starting with . or -",
    )


def validate_digest(digest: str) -> str:
    """Return ``digest`` when it is ``sha256:`` + 64 hex (or sha512 + 128)."""
    return _checked(
        references.validate_digest,
        digest,
        f"invalid digest {digest!r}: expected sha256: and 64 lower-case hex "
        "digits (or sha512: and 128)",
    )


def _checked(check: Callable[[str], str], value: str, message: str) -> str:
    # One grammar for the editors and the requests (bot.manifests owns it);
    # requests keep one phrasing and one error type, InvalidReference.
    try:
        return check(value)
    except InvalidInput:
        raise InvalidReference(message) from None


def authorise(config: Config, source_project: str, app: str, env: str) -> None:
    """Raise unless ``source_project`` may deploy ``app`` to ``env``.

    Unknown names raise ``bot.config.UnknownName`` (404); a known app that
    is not deployed to ``env``, or a source not listed, raise ``NotAllowed``.
    """
    app_config = config.app(app)
    config.environment(env)

    if env not in app_config.environments:
        raise NotAllowed(
            f"app {app} is not deployed to environment {env}; "
            f"its environments: {', '.join(app_config.environments)}"
        )

    allowed = {source.casefold() for source in app_config.sources}
    if source_project.casefold() not in allowed:
        raise NotAllowed(
            f"project {source_project} may not deploy app {app}; "
            f"allowed sources: {', '.join(app_config.sources)}"
        )


def ensure_tag_allowed(env_config: EnvironmentConfig, tag: str) -> None:
    """Raise unless ``tag`` fully matches the environment's ``tag_pattern``."""
    pattern = env_config.tag_pattern
    if pattern is None:
        return
    try:
        # The pattern is the operator's, the tag the caller's: a pattern
        # that backtracks without end must not stall the server.
        matched = regex.fullmatch(pattern, tag, timeout=TAG_PATTERN_SECONDS)
    except TimeoutError:
        raise NotAllowed(
            f"tag {tag} could not be checked against the tag pattern of "
            f"environment {env_config.name} within {TAG_PATTERN_SECONDS:g}s: "
            f"{pattern} (simplify the pattern's nested repetition)"
        ) from None
    if not matched:
        raise NotAllowed(
            f"tag {tag} does not match the tag pattern of environment "
            f"{env_config.name}: {pattern}"
        )


def compare_tags(old: str, new: str) -> Ordering:
    """Say whether ``new`` is newer, older or the same version as ``old``.

    ``UNKNOWN`` when either is not a dotted version: no claim about order.
    """
    if old == new:
        return Ordering.SAME

    old_version, new_version = _parse_version(old), _parse_version(new)
    if old_version is None or new_version is None:
        return Ordering.UNKNOWN
    if new_version > old_version:
        return Ordering.NEWER
    if new_version < old_version:
        return Ordering.OLDER
    return Ordering.SAME


def ensure_not_older(
    current: str | None,
    requested: str,
    force: bool,
    *,
    where: str = "currently deployed",
) -> None:
    """Raise ``OlderTag`` when ``requested`` is older than ``current``.

    ``where`` says where ``current`` comes from, for the message
    ("currently proposed in !12"). ``force`` allows the rollback.
    """
    if force or current is None:
        return
    if compare_tags(current, requested) is Ordering.OLDER:
        raise OlderTag(f"tag {requested} is older than {current} {where}{FORCE_ADVICE}")


def command_access_level(
    env_config: EnvironmentConfig, command: str, *, frozen: bool = False
) -> AccessLevel:
    """Return the access level needed to run ``command`` on this environment.

    During a freeze, ``merge`` also needs the environment's override level.
    """
    level = env_config.commands[command]
    if frozen and command == "merge":
        return max(level, env_config.override_access_level)
    return level


def is_frozen(env_config: EnvironmentConfig, now: datetime) -> FreezeState | None:
    """Return why the environment may not merge at ``now``, or ``None``.

    Frozen inside any freeze window, and outside every merge window when
    the environment declares merge windows. ``now`` must be time-zone aware.
    """
    if now.tzinfo is None:
        raise ValueError("is_frozen needs a time-zone aware datetime")

    state = _blocking_state(env_config, now)
    if state is None:
        return None
    return FreezeState(state.reason, state.window, _frozen_until(env_config, now))


# The longest chain of back-to-back windows we follow before calling the
# freeze indefinite: two weeks of daily windows, with margin.
_MAX_HOPS = 32


def _frozen_until(env_config: EnvironmentConfig, now: datetime) -> datetime | None:
    moment = now
    for _ in range(_MAX_HOPS):
        state = _blocking_state(env_config, moment)
        if state is None:
            return moment
        if state.until is None or state.until <= moment:
            return None
        moment = state.until
    return None


def _blocking_state(env_config: EnvironmentConfig, now: datetime) -> FreezeState | None:
    for window in env_config.freeze_windows:
        end = _occurrence_end(window, now)
        if end is not None:
            return FreezeState(f"freeze window {window.describe()}", window, end)

    if not env_config.merge_windows:
        return None
    if any(_occurrence_end(w, now) is not None for w in env_config.merge_windows):
        return None
    opens = _next_start(env_config.merge_windows, now)
    return FreezeState("outside the merge windows", None, opens)


def _occurrence_end(window: Window, now: datetime) -> datetime | None:
    """End of the occurrence of ``window`` that covers ``now``, if any."""
    local_day = now.astimezone(window.zone).date()
    for day in (local_day, local_day - timedelta(days=1)):
        occurrence = _occurrence(window, day)
        if occurrence is not None and occurrence[0] <= now < occurrence[1]:
            return occurrence[1]
    return None


def _next_start(windows: Iterable[Window], now: datetime) -> datetime | None:
    starts = []
    for window in windows:
        local_day = now.astimezone(window.zone).date()
        for offset in range(8):
            occurrence = _occurrence(window, local_day + timedelta(days=offset))
            if occurrence is not None and occurrence[0] > now:
                starts.append(occurrence[0])
                break
    return min(starts, default=None)


def _occurrence(window: Window, day: date) -> tuple[datetime, datetime] | None:
    """Start and end, in UTC, of the window opening on local ``day``, if any."""
    if day.weekday() not in window.weekdays:
        return None
    start = _at_minute(window, day, window.start_minute)
    end_day = day if window.end_minute > window.start_minute else day + timedelta(1)
    return start, _at_minute(window, end_day, window.end_minute)


def _at_minute(window: Window, day: date, minute: int) -> datetime:
    # Wall-clock time in the window's zone, compared in UTC: two datetimes
    # sharing one tzinfo compare by wall clock, which is wrong across DST.
    midnight = datetime(day.year, day.month, day.day, tzinfo=window.zone)
    return (midnight + timedelta(minutes=minute)).astimezone(UTC)


def _parse_version(tag: str) -> Version | None:
    if not _VERSION_LIKE.fullmatch(tag):
        return None
    try:
        return Version(tag)
    except InvalidVersion:
        return None
