"""Field types of the configuration, each with the phrase its errors use.

Every type validates strictly (YAML already typed the value: ``yes`` is a
string, ``"2"`` is not a number) and, on failure, raises one error whose
text starts with "expected", so that :mod:`bot.config.problems` can print
``file:line: key: expected ..., got ...`` without knowing pydantic's words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from string import Formatter
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PlainValidator
from pydantic_core import PydanticCustomError

from bot.policy import LEVEL_NAMES, AccessLevel

EXPECTED = "config_expected"
Check = Callable[[Any], Any]


def expected(phrase: str, *, hide_input: bool = False) -> PydanticCustomError:
    """Return the error saying what a key expects; ``hide_input`` for secrets."""
    return PydanticCustomError(
        EXPECTED, "expected {expected}", {"expected": phrase, "hide": hide_input}
    )


def _typed(kind: type, phrase: str) -> Check:
    def check(value: Any) -> Any:
        # bool is an int subclass; `required: true` is not a count.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise expected(phrase)
        return value

    return check


def matching(regex: str, phrase: str, *, hide_input: bool = False) -> Check:
    """Return a check that ``value`` is a string fully matching ``regex``."""
    pattern = re.compile(regex)

    def check(value: Any) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise expected(phrase, hide_input=hide_input)
        return value

    return check


def _between(minimum: int, maximum: int, phrase: str) -> Check:
    """Return a check for an integer from ``minimum`` to ``maximum``."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise expected(phrase)
        if not minimum <= value <= maximum:
            raise expected(phrase)
        return value

    return check


def _username(value: Any) -> str:
    if isinstance(value, str):
        value = value.removeprefix("@")
    return matching(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*", "a GitLab username")(value)


def _access_level(value: Any) -> AccessLevel:
    if isinstance(value, AccessLevel):
        return value
    try:
        return AccessLevel.parse(value if isinstance(value, str) else "")
    except ValueError:
        raise expected(f"one of {', '.join(LEVEL_NAMES)}") from None


def _http_url(value: Any) -> str:
    phrase = "an http(s) URL such as https://gitlab.example.com"
    if not isinstance(value, str):
        raise expected(phrase)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise expected(phrase)
    return value.rstrip("/")


def _regex(value: Any) -> str:
    if not isinstance(value, str):
        raise expected("a regular expression")
    try:
        re.compile(value)
    except re.error as error:
        raise expected(f"a regular expression that compiles ({error})") from None
    return value


def _timezone(value: Any) -> str:
    phrase = "an IANA time zone such as Europe/Berlin or UTC"
    if not isinstance(value, str) or not value:
        raise expected(phrase)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise expected(phrase) from None
    return value


def template(allowed: Iterable[str]) -> Check:
    """Return a check for a format string using only ``allowed`` placeholders."""
    names = tuple(allowed)
    phrase = "a template using only the placeholders " + ", ".join(
        "{" + name + "}" for name in names
    )

    def check(value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise expected(phrase)
        if not set(placeholders(value)) <= set(names):
            raise expected(phrase)
        return value

    return check


def placeholders(text: str) -> list[str]:
    """Return the placeholder names in format string ``text``; [] if malformed."""
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        return ["<malformed>"]
    return [field for _, field, _, _ in parsed if field is not None]


def _manifest_path(value: Any) -> str:
    phrase = "a relative file path (placeholders {env} and {app} allowed)"
    value = template(("env", "app"))(value) if isinstance(value, str) else value
    if not isinstance(value, str) or value.startswith("/"):
        raise expected(phrase)
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise expected(phrase)
    return value


def _clock(*, allow_24: bool) -> Check:
    regex = r"([01]\d|2[0-3]):[0-5]\d" + (r"|24:00" if allow_24 else "")
    return matching(regex, "a time HH:MM" + (" (24:00 allowed)" if allow_24 else ""))


def _rule(check: Check) -> PlainValidator:
    return PlainValidator(check)


Text = Annotated[str, _rule(matching(r"(?s).*\S.*", "a non-empty string"))]
Bool = Annotated[bool, _rule(_typed(bool, "true or false"))]
# Every number has an upper bound too: a value past it (timeout_seconds:
# 10000000000) would pass here and then crash each call that uses it.
DAY = 24 * 60 * 60
KIB, MIB = 1024, 1024 * 1024
Seconds = Annotated[
    int, _rule(_between(1, DAY, f"a number of seconds from 1 to {DAY} (a day)"))
]
Approvals = Annotated[int, _rule(_between(0, 100, "an integer from 0 to 100"))]
Concurrency = Annotated[int, _rule(_between(1, 100, "an integer from 1 to 100"))]
QueueLength = Annotated[int, _rule(_between(1, 100_000, "an integer from 1 to 100000"))]
BodyBytes = Annotated[
    int,
    _rule(_between(1, 16 * MIB, f"a number of bytes from 1 to {16 * MIB} (16 MiB)")),
]
# GitLab sends descriptions and comments of up to 1 MB; a limit under 16 KiB
# refuses ordinary merge request and comment events, and their commands.
WebhookBytes = Annotated[
    int,
    _rule(
        _between(
            16 * KIB,
            64 * MIB,
            f"a number of bytes from {16 * KIB} (16 KiB; smaller limits refuse "
            f"ordinary comment events and lose their commands) to {64 * MIB} "
            "(64 MiB)",
        )
    ),
]
Name = Annotated[
    str,
    _rule(
        matching(
            r"[a-z0-9][a-z0-9-]{0,62}",
            "a name of lower-case letters, digits and '-' (at most 63 characters,"
            " not starting with '-')",
        )
    ),
]
ProjectPath = Annotated[
    str,
    _rule(
        matching(
            r"[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+",
            "a project path such as group/project",
        )
    ),
]
GroupPath = Annotated[
    str,
    _rule(
        matching(
            r"[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*",
            "a group path such as platform/sre",
        )
    ),
]
Username = Annotated[str, _rule(_username)]
EnvVarName = Annotated[
    str,
    _rule(
        matching(
            r"[A-Za-z_][A-Za-z0-9_]*",
            "the NAME of an environment variable (letters, digits, '_'); "
            "the secret itself never goes in the file",
            hide_input=True,
        )
    ),
]
Label = Annotated[str, _rule(matching(r"[^,]*[^,\s][^,]*", "a label (no commas)"))]
Level = Annotated[AccessLevel, _rule(_access_level)]
HttpUrl = Annotated[str, _rule(_http_url)]
Regex = Annotated[str, _rule(_regex)]
Timezone = Annotated[str, _rule(_timezone)]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Annotated[str, _rule(matching("|".join(DAYS), "one of " + ", ".join(DAYS)))]
StartTime = Annotated[str, _rule(_clock(allow_24=False))]
EndTime = Annotated[str, _rule(_clock(allow_24=True))]
ManifestPath = Annotated[str, _rule(_manifest_path)]
DottedKey = Annotated[
    str, _rule(matching(r"[^.\s]+(\.[^.\s]+)*", "a dotted key such as image.tag"))
]
FluxPolicy = Annotated[
    str,
    _rule(
        matching(
            r"[a-z0-9][a-z0-9.-]*:[a-z0-9][a-z0-9.-]*",
            "a Flux image policy as namespace:name",
        )
    ),
]
# Repository part of an image reference (OCI distribution grammar, no tag
# and no digest: those come with each deploy request).
ImageName = Annotated[
    str,
    _rule(
        matching(
            r"([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
            r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d+)?/)?"
            r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
            r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*",
            "an image name without tag or digest, such as "
            "registry.example.com/group/app",
        )
    ),
]
