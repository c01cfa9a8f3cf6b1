"""The comment command grammar: one note body in, one ParseResult out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chatops import (
    COMMANDS,
    Command,
    Commands,
    Ignore,
    Reply,
    clean_reason,
    help_text,
    parse_note,
)
from bot.chatops.grammar import MAX_COMMANDS_PER_NOTE, MAX_REASON_LENGTH


def _names_and_args(body: str, prefix: str = "/gitops") -> list[tuple]:
    """Parse a body that must hold commands; return (name, args) pairs."""
    result = parse_note(body, prefix)
    assert isinstance(result, Commands), result
    return [(command.name, command.args) for command in result.commands]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/gitops status", [("status", ())]),
        ("/gitops merge", [("merge", ())]),
        ("/GITOPS Merge", [("merge", ())]),
        ("  /gitops unhold  ", [("unhold", ())]),
        ("/gitops\tretry", [("retry", ())]),
        ("/gitops hold", [("hold", ())]),
        ("/gitops hold waiting for the DB migration",
         [("hold", ("waiting for the DB migration",))]),
        ("/gitops promote production", [("promote", ("production",))]),
        ("/gitops pin v1.4.1", [("pin", ("v1.4.1",))]),
        ("/gitops PIN v1.4.1 rollback: incident 42",
         [("pin", ("v1.4.1", "rollback: incident 42"))]),
        ("/gitops unpin", [("unpin", ())]),
        ("/gitops recreate", [("recreate", ())]),
        ("/gitops close", [("close", ())]),
        ("LGTM.\n/gitops hold\n\nthanks\n/gitops status",
         [("hold", ()), ("status", ())]),
        ("/gitops status\r\n/gitops merge", [("status", ()), ("merge", ())]),
        ("/gitops merge\n/gitops merge", [("merge", ()), ("merge", ())]),
        ("/gitops hold\n/gitops unhold\n/gitops hold",
         [("hold", ()), ("unhold", ()), ("hold", ())]),
        ("/gitops help\n/gitops status", [("help", ()), ("status", ())]),
        ("/gitops pin v1 `$(rm -rf /)`; echo",
         [("pin", ("v1", "`$(rm -rf /)`; echo"))]),
    ],
)  # fmt: skip
def test_command_lines_parse(body: str, expected: list[tuple]):
    """Each command line yields its name and checked arguments, in order."""
    assert _names_and_args(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "",
        "Looks good to me",
        "please run /gitops merge",
        "- /gitops merge",
        "> /gitops merge",
        "  > /gitops merge",
        ">> /gitops merge",
        "    /gitops merge",
        "\t/gitops merge",
        "`/gitops merge`",
        "```\n/gitops merge\n```",
        "~~~\n/gitops merge\n~~~",
        "````md\n```\n/gitops merge\n````",
        "~~~~\n/gitops merge\n~~~\n/gitops hold\n",
        "```\nunclosed fence\n/gitops merge",
        "see `the\n/gitops merge\ncommand`",
        "<!--\n/gitops merge\n-->",
        "/gitopsmerge",
        "/gitops-bot merge",
        "gitops merge",
        "just a remark\u2028/gitops unhold",
        "just a remark\u2029/gitops unhold",
        "just a remark\x85/gitops unhold",
        "just a remark\x0b/gitops unhold",
        "just a remark\x0c/gitops unhold",
    ],
)
def test_lines_that_are_not_commands_are_ignored(body: str):
    """Code, quotes, comments, indented or mid-line text never run a command."""
    assert parse_note(body, "/gitops") == Ignore()


def test_text_after_a_closed_fence_counts_again():
    """A command after a closed code block is read."""
    body = "```\n/gitops merge\n```\n/gitops hold"

    assert _names_and_args(body) == [("hold", ())]


def test_text_after_a_closed_inline_span_counts_again():
    """An inline code span closed on a later line stops hiding lines after it."""
    body = "see `the\nlong` command\n/gitops status"

    assert _names_and_args(body) == [("status", ())]


@pytest.mark.parametrize("prefix", ["@gitops-bot", "!deploy", "/GitOps"])
def test_prefix_is_configurable(prefix: str):
    """Any prefix works, matched case-insensitively; the default one then does not."""
    assert _names_and_args(f"{prefix.lower()} status", prefix) == [("status", ())]
    if prefix.lower() != "/gitops":
        assert parse_note("/gitops status", prefix) == Ignore()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("/gitops deploy",
         "unknown command `deploy`; available: `help`, `status`, `merge`, `hold`, "
         "`unhold`, `recreate`, `retry`, `promote`, `pin`, `unpin`, `close`"),
        ("/gitops promote",
         "`promote` needs an environment: `/gitops promote <environment>`"),
        ("/gitops promote Production",
         "`Production` is not an environment name (lower-case letters, digits and "
         "'-', at most 63 characters)"),
        ("/gitops promote prod eu", "`promote` takes one environment; got `prod eu`"),
        ("/gitops promote prod;rm", "`prod;rm` is not an environment name"),
        ("/gitops pin", "`pin` needs a tag: `/gitops pin <tag> [reason]`"),
        ("/gitops pin ../../etc", "`../../etc` is not a valid image tag"),
        ("/gitops pin $(id)", "`$(id)` is not a valid image tag"),
        ("/gitops pin " + "a" * 129, "is not a valid image tag"),
        ("/gitops merge now", "`merge` takes no arguments; got `now`"),
        ("/gitops `x`", "unknown command `` `x` ``"),
    ],
)  # fmt: skip
def test_malformed_commands_get_a_precise_reply(body: str, message: str):
    """A malformed command is answered with what is wrong; nothing runs."""
    result = parse_note(body, "/gitops")

    assert isinstance(result, Reply)
    assert message in result.text
    assert result.text.endswith("Nothing in this note was run.")


def test_one_bad_line_stops_the_whole_note_and_every_problem_is_listed():
    """With one malformed line among good ones, no command runs; all errors show."""
    result = parse_note("/gitops hold\n/gitops frobnicate\n/gitops pin", "/gitops")

    assert isinstance(result, Reply)
    assert result.text.startswith("- unknown command `frobnicate`")
    assert "\n- `pin` needs a tag" in result.text


def test_too_many_commands_are_refused():
    """A note with more commands than the cap is answered, not run."""
    body = "\n".join(["/gitops status"] * (MAX_COMMANDS_PER_NOTE + 1))

    result = parse_note(body, "/gitops")

    assert isinstance(result, Reply)
    assert f"at most {MAX_COMMANDS_PER_NOTE} commands" in result.text


@pytest.mark.parametrize(
    "body", ["/gitops help", "/gitops", "/GitOps HELP\n/gitops help"]
)
def test_help_alone_is_answered_right_away(body: str):
    """A note asking only for help gets the help text as a reply."""
    assert parse_note(body, "/gitops") == Reply(help_text("/gitops"))


def test_help_lists_every_command_with_usage_and_level():
    """Help names each command with its arguments, and levels when given."""
    text = help_text("/gitops", required={"merge": 40})

    for spec in COMMANDS:
        assert f"`/gitops {spec.usage}`" in text
    assert "`/gitops pin <tag> [reason]`" in text
    assert "merge as soon as every check passes (Maintainer or above)" in text


def test_raw_line_is_kept():
    """Each command carries the line it came from, for the reply to quote."""
    result = parse_note("  /gitops Hold  for QA ", "/gitops")

    assert result == Commands((Command("hold", ("for QA",), "/gitops Hold  for QA"),))


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("  spaced   out  ", "spaced out"),
        ("bell\x07 and\x1b[31m escape", "bell and[31m escape"),
        ("bidi \u202eevil\u202c text", "bidi evil text"),
        ("zero\u200bwidth", "zerowidth"),
        ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),
        ("x" * (MAX_REASON_LENGTH + 50), "x" * (MAX_REASON_LENGTH - 1) + "…"),
    ],
)
def test_reasons_are_cleaned_and_capped(text: str, cleaned: str):
    """Free-text reasons lose control characters and are capped in length."""
    assert clean_reason(text) == cleaned


@settings(max_examples=200, deadline=None)
@given(body=st.text(max_size=200), prefix=st.sampled_from(["/gitops", "@bot"]))
def test_any_body_parses_to_exactly_one_result(body: str, prefix: str):
    """Whatever the note says, parsing returns one result and never raises."""
    result = parse_note(body, prefix)

    assert isinstance(result, Commands | Reply | Ignore)
    if isinstance(result, Commands):
        assert 1 <= len(result.commands) <= MAX_COMMANDS_PER_NOTE


@settings(max_examples=200, deadline=None)
@given(reason=st.text(max_size=300))
def test_parsed_reasons_never_hold_control_characters(reason: str):
    """A hold reason that parses is one printable line of bounded length."""
    result = parse_note(f"/gitops hold {reason}", "/gitops")

    assert isinstance(result, Commands)
    for arg in result.commands[0].args:
        assert len(arg) <= MAX_REASON_LENGTH
        assert arg.isprintable() or "\u200d" in arg


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_each_markdown_line_end_starts_a_command_line(end: str):
    """LF, CRLF and a lone CR end a line, as in GitLab's Markdown."""
    body = f"/gitops hold migration{end}/gitops status{end}"
    assert _names_and_args(body) == [("hold", ("migration",)), ("status", ())]
