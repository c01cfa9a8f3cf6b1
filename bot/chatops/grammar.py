"""The comment command grammar: a note body in, one ParseResult out.

A command is a line that starts with the prefix (``/gitops`` by default; up to
three leading spaces, as Markdown allows) outside fenced code blocks, inline
code spans, HTML comments and quoted lines. Command words are
case-insensitive. A note may carry several commands, one per line, and each
line runs in the order written, a repeated one too; if any line is malformed,
the reply names every problem and nothing runs. Arguments are plain strings
checked against the grammar and are never handed to a shell.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from bot.chatops.access import Refusal, access_level_name
from bot.record import code_span

DEFAULT_PREFIX = "/gitops"
MAX_COMMANDS_PER_NOTE = 10
MAX_REASON_LENGTH = 200

ENVIRONMENT_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\Z")
# Line ends as GitLab's Markdown sees them; str.splitlines would also break
# at U+2028, U+0085 and the like, which render inside one line.
_LINE_END = re.compile(r"\r\n|\r|\n")

ArgumentKind = Literal["none", "reason", "environment", "tag"]


@dataclass(frozen=True)
class CommandSpec:
    """One command of the grammar: its name, its arguments and what it does."""

    name: str
    arguments: ArgumentKind
    summary: str

    @property
    def usage(self) -> str:
        """The command with its argument placeholders, without the prefix."""
        suffix = {
            "none": "",
            "reason": " [reason]",
            "environment": " <environment>",
            "tag": " <tag> [reason]",
        }[self.arguments]
        return self.name + suffix


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", "none", "list the commands"),
    CommandSpec("status", "none", "explain what blocks the merge"),
    CommandSpec("merge", "none", "merge as soon as every check passes"),
    CommandSpec("hold", "reason", "do not merge until `unhold`"),
    CommandSpec("unhold", "none", "lift a hold"),
    CommandSpec("recreate", "none", "rebuild the branch from the target head"),
    CommandSpec("retry", "none", "retry the failed jobs of the head pipeline"),
    CommandSpec(
        "promote", "environment", "open the same image for another environment"
    ),
    CommandSpec("pin", "tag", "deploy this tag and refuse later bumps until `unpin`"),
    CommandSpec("unpin", "none", "remove the pin"),
    CommandSpec("close", "none", "close this merge request and delete its branch"),
)
_SPECS = {spec.name: spec for spec in COMMANDS}


@dataclass(frozen=True)
class Command:
    """One parsed command line: lower-cased name, checked arguments, raw line."""

    name: str
    args: tuple[str, ...]
    raw: str


@dataclass(frozen=True)
class Commands:
    """The note holds commands to run, in the order written."""

    commands: tuple[Command, ...]


@dataclass(frozen=True)
class Reply:
    """The note needs an answer right away and nothing runs (help, errors)."""

    text: str


@dataclass(frozen=True)
class Ignore:
    """The note holds no command."""


ParseResult = Commands | Reply | Ignore


def parse_note(body: str, prefix: str = DEFAULT_PREFIX) -> ParseResult:
    """Parse the commands in a note body; never raises."""
    if not isinstance(body, str) or not prefix.strip():
        return Ignore()

    lines = [
        line for line in visible_lines(body) if _after_prefix(line, prefix) is not None
    ]
    if not lines:
        return Ignore()
    if len(lines) > MAX_COMMANDS_PER_NOTE:
        return _refuse(
            [
                f"a note may hold at most {MAX_COMMANDS_PER_NOTE} commands; "
                f"this one has {len(lines)}"
            ]
        )

    parsed = [_parse_line(line, prefix) for line in lines]
    errors = [item for item in parsed if isinstance(item, str)]
    if errors:
        return _refuse(errors)

    # Every line runs, repeats too: "hold, unhold, hold" must end held.
    commands = tuple(c for c in parsed if isinstance(c, Command))
    if all(command.name == "help" for command in commands):
        return Reply(help_text(prefix))
    return Commands(commands)


def visible_lines(body: str) -> Iterator[str]:
    """Yield the lines a reader sees as plain text: no code, comment or quote."""
    fence: tuple[str, int] | None = None
    inline = _InlineState()
    for line in _LINE_END.split(body):
        if fence is not None:
            fence = None if _closes_fence(line, fence) else fence
            continue
        if not inline.inside and (opened := _opens_fence(line)):
            fence = opened
            continue

        hidden_at_start = inline.inside
        inline.scan(line)
        if hidden_at_start or _is_quote_or_indented(line):
            continue
        yield line


class _InlineState:
    """Tracks inline code spans and HTML comments that run across lines."""

    _TOKEN_RE = re.compile(r"`+|<!--|-->")

    def __init__(self) -> None:
        self.ticks = 0
        self.comment = False

    @property
    def inside(self) -> bool:
        """Whether the current position is inside a code span or a comment."""
        return self.ticks > 0 or self.comment

    def scan(self, line: str) -> None:
        """Advance through one line, opening and closing spans."""
        for token in self._TOKEN_RE.findall(line):
            if self.comment:
                self.comment = token != "-->"
            elif self.ticks:
                self.ticks = 0 if len(token) == self.ticks else self.ticks
            elif token.startswith("`"):
                self.ticks = len(token)
            else:
                self.comment = token == "<!--"


def _opens_fence(line: str) -> tuple[str, int] | None:
    """Return (character, length) when the line opens a fenced code block."""
    match = re.match(r" {0,3}(`{3,}|~{3,})(.*)\Z", line)
    if match is None or (match[1][0] == "`" and "`" in match[2]):
        return None
    return match[1][0], len(match[1])


def _closes_fence(line: str, fence: tuple[str, int]) -> bool:
    """Whether the line closes the open fence (same character, at least as long)."""
    char, length = fence
    return (
        re.fullmatch(rf" {{0,3}}{re.escape(char)}{{{length},}}[ \t]*", line) is not None
    )


def _is_quote_or_indented(line: str) -> bool:
    """Whether the line is quoted (``>``) or indented code (4 spaces or a tab)."""
    return line.lstrip().startswith(">") or line.startswith(("    ", "\t"))


def _after_prefix(line: str, prefix: str) -> str | None:
    """Return the text after the prefix when the line starts with it."""
    stripped = line.lstrip(" ")
    if (
        len(line) - len(stripped) > 3
        or stripped[: len(prefix)].lower() != prefix.lower()
    ):
        return None

    rest = stripped[len(prefix) :]
    if rest and not rest[0].isspace():
        return None
    return rest.strip()


def _parse_line(line: str, prefix: str) -> Command | str:
    """Parse one command line into a Command, or an error message."""
    rest = _after_prefix(line, prefix) or "help"
    word, tail = (rest.split(None, 1) + ["", ""])[:2]
    spec = _SPECS.get(word.lower())
    if spec is None:
        available = ", ".join(code_span(name) for name in _SPECS)
        return f"unknown command {code_span(word)}; available: {available}"

    args = _parse_arguments(spec, tail.strip(), prefix)
    if isinstance(args, str):
        return args
    return Command(name=spec.name, args=args, raw=line.strip())


def _parse_arguments(
    spec: CommandSpec, tail: str, prefix: str
) -> tuple[str, ...] | str:
    """Check the arguments of one command; return them, or an error message."""
    usage = code_span(f"{prefix} {spec.usage}")
    if spec.arguments == "none" and tail:
        return f"{code_span(spec.name)} takes no arguments; got {code_span(tail)}"
    if spec.arguments == "none":
        return ()
    if spec.arguments == "reason":
        return tuple(filter(None, [clean_reason(tail)]))

    first, remainder = (tail.split(None, 1) + ["", ""])[:2]
    if spec.arguments == "environment":
        return _check_environment(first, remainder.strip(), usage)
    return _check_tag(first, usage) or (first, *filter(None, [clean_reason(remainder)]))


def _check_environment(name: str, extra: str, usage: str) -> tuple[str, ...] | str:
    """Return ``(name,)`` for a well-formed environment name, or an error."""
    if not name:
        return f"`promote` needs an environment: {usage}"
    if extra:
        return f"`promote` takes one environment; got {code_span(name + ' ' + extra)}"
    if not ENVIRONMENT_RE.match(name):
        return (
            f"{code_span(name)} is not an environment name (lower-case letters, "
            "digits and '-', at most 63 characters)"
        )
    return (name,)


def _check_tag(tag: str, usage: str) -> str | None:
    """Return an error for a missing or malformed image tag, else None."""
    if not tag:
        return f"`pin` needs a tag: {usage}"
    if not TAG_RE.match(tag):
        return (
            f"{code_span(tag)} is not a valid image tag (letters, digits, '_', "
            "'.', '-', at most 128 characters, not starting with '.' or '-')"
        )
    return None


def clean_reason(text: str) -> str:
    """Return free text fit to store: no control characters, capped in length."""
    kept = "".join(char for char in text if _is_printable(char))
    flat = " ".join(kept.split())
    if len(flat) <= MAX_REASON_LENGTH:
        return flat
    return flat[: MAX_REASON_LENGTH - 1].rstrip() + "…"


def _is_printable(char: str) -> bool:
    """Whether a character may stay in stored text.

    Control, format (bidi overrides, zero-width), surrogate, private-use and
    unassigned characters go; the zero-width joiner stays, as emoji sequences need it.
    """
    return char == "\u200d" or unicodedata.category(char) not in _UNPRINTABLE


def _refuse(errors: list[str]) -> Reply:
    """Answer a malformed note: every problem, and that nothing ran."""
    if len(errors) == 1:
        return Reply(f"{errors[0]}\n\nNothing in this note was run.")
    listed = "\n".join(f"- {error}" for error in errors)
    return Reply(f"{listed}\n\nNothing in this note was run.")


def help_text(
    prefix: str = DEFAULT_PREFIX,
    commands: tuple[CommandSpec, ...] = COMMANDS,
    required: Mapping[str, int] | None = None,
) -> str:
    """Return the Markdown help reply: each command, what it does, who may."""
    lines = ["Commands (one per line, at the start of a comment):", ""]
    for spec in commands:
        line = f"- {code_span(f'{prefix} {spec.usage}')}: {spec.summary}"
        if required is not None and spec.name in required:
            line += f" ({access_level_name(required[spec.name])} or above)"
        lines.append(line)
    return "\n".join(lines)


def command_lines(prefix: str = DEFAULT_PREFIX) -> tuple[str, ...]:
    """Return one Markdown line per command, for the merge request description."""
    return tuple(
        f"{code_span(f'{prefix} {spec.usage}')}: {spec.summary}" for spec in COMMANDS
    )


def format_reply(command: Command, text: str) -> str:
    """Return the reply to one command: the command quoted, then the answer.

    The command is echoed in a quoted code span, so a reply can never be read
    as a command itself, even by another bot.
    """
    return f"> {code_span(command.raw)}\n\n{text}"


def format_refusal(command: Command, refusal: Refusal) -> str:
    """Return the reply to a refused command; it says nothing was done."""
    return format_reply(command, f"{refusal.message}. Nothing was done.")
