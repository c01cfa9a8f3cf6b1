"""The exception family: each class says what the bot does next.

- ``InvalidInput``: the caller's input is wrong (file, YAML, tag, name).
  Exit status 2, HTTP 400/404/413/415; nothing is written.
- ``Refused``: the input is well-formed but policy says no (not allowed,
  older tag, pinned, frozen). Exit status 2, HTTP 403/409; nothing written.
- ``GitLabError``: GitLab answered in a way we cannot recover from, or
  stayed unavailable past the retry deadline. Exit status 1, HTTP 502/503.
"""

from __future__ import annotations


class GitopsBotError(Exception):
    """Base of every error the bot raises on purpose."""

    exit_status = 1
    http_status = 500


class InvalidInput(GitopsBotError):
    """Malformed or unknown input; the message says what and where."""

    exit_status = 2
    http_status = 400


class Refused(GitopsBotError):
    """A well-formed request that policy refuses; the message names the rule."""

    exit_status = 2
    http_status = 403


class GitLabError(GitopsBotError):
    """GitLab refused a call, or stayed unavailable past the deadline."""

    exit_status = 1
    http_status = 502


def where_not_utf8(error: UnicodeDecodeError) -> str:
    """``byte 0xff at offset 17, line 2``: the first byte that is not UTF-8."""
    offset = error.start
    line = error.object.count(b"\n", 0, offset) + 1
    return f"byte 0x{error.object[offset]:02x} at offset {offset}, line {line}"
