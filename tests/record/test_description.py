"""The merge request description: what a reviewer reads, then the marker."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.record import (
    DeployRecord,
    Pin,
    Source,
    code_span,
    inert,
    inline_text,
    parse_marker,
    render_description,
    render_marker,
)

RECORD = DeployRecord(
    app="my-app",
    environment="production",
    image="registry.example.com/my-org/my-app",
    tag="v1.4.2",
    digest="sha256:" + "b" * 64,
    previous_tag="v1.4.1",
    previous_digest="sha256:" + "a" * 64,
    source=Source(
        project="my-org/my-app",
        sha="0123456789abcdef0123",
        ref="main",
        pipeline_url="https://gitlab.example.com/my-org/my-app/-/pipelines/7",
    ),
    superseded_tags=("v1.4.0", "v1.3.9"),
    requested_by="my-org/my-app",
)
COMMANDS = ("`/gitops merge` merge once the gate is green", "`/gitops hold` hold")


def _describe(record: DeployRecord = RECORD, **overrides: object) -> str:
    """Render a description with typical arguments, overridable per test."""
    arguments: dict = {
        "merge_request_commands": COMMANDS,
        "compare_url": (
            "https://gitlab.example.com/my-org/my-app/-/compare/v1.4.1...v1.4.2"
        ),
        "changelog": ("Fix login timeout", "Add metrics @all #12"),
        "diff_summary": "-  newTag: v1.4.1\n+  newTag: v1.4.2",
    }
    arguments.update(overrides)
    return render_description(record, **arguments)


def test_description_shows_what_changes_and_ends_with_the_marker():
    """Reviewer-facing facts come first; the last line is the record marker."""
    text = _describe()

    assert text.startswith("Deploy `my-app` to **production**")
    assert "| Tag | `v1.4.1` → `v1.4.2` |" in text
    assert f"`sha256:{'a' * 64}` → `sha256:{'b' * 64}`" in text
    assert "| Image | `registry.example.com/my-org/my-app` |" in text
    assert "commit `0123456789ab`" in text
    assert "[pipeline](https://gitlab.example.com/my-org/my-app/-/pipelines/7)" in text
    assert "/-/compare/v1.4.1...v1.4.2)" in text
    assert "| Supersedes | `v1.4.0`, `v1.3.9` |" in text
    assert "- Fix login timeout" in text
    assert "- `/gitops merge` merge once the gate is green" in text
    assert "+  newTag: v1.4.2" in text
    assert text.rstrip().splitlines()[-1].startswith("<!-- gitops-bot:record ")
    assert parse_marker(text) == RECORD


def test_changelog_titles_cannot_ping_or_link():
    """Echoed titles never mention a user or reference an issue."""
    text = _describe()

    assert "@all" not in text and "#12" not in text
    assert "Add metrics @\u200ball #\u200b12" in text


def test_optional_parts_are_left_out_when_absent():
    """A first deploy with no source, compare link or changelog has no empty rows."""
    record = DeployRecord(app="a", environment="staging", image="img", tag="v1")

    text = _describe(record, compare_url=None, changelog=(), diff_summary=" ")

    assert "| Tag | (none) → `v1` |" in text
    for absent in (
        "Digest",
        "Source",
        "Compare",
        "Supersedes",
        "Changes since",
        "Manifest changes",
    ):
        assert absent not in text
    assert parse_marker(text) == record


def test_pin_is_shown_with_who_and_why():
    """A pinned record says so, with the pinner and the reason."""
    record = DeployRecord(
        app="a",
        environment="prod",
        image="img",
        tag="v1",
        pin=Pin(tag="v1", reason="rollback of incident 7", by="alice"),
    )

    assert "**Pinned** to `v1` by `alice`: rollback of incident 7" in _describe(record)


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "https://x.example/a b", "ftp://x", ""]
)
def test_only_plain_http_links_are_rendered(url: str):
    """A compare URL that is not plain http(s) is left out, not linked."""
    assert "Compare" not in _describe(compare_url=url)


def test_diff_fence_is_longer_than_any_fence_in_the_diff():
    """A diff containing ``` cannot close the fence around it early."""
    text = _describe(diff_summary="+ a\n```\n+ b")

    assert "````diff\n+ a\n```\n+ b\n````" in text


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("v1", "`v1`"),
        ("a`b", "``a`b``"),
        ("`x", "`` `x ``"),
        ("a\nb", "`a b`"),
        ("", "` `"),
    ],
)
def test_code_span_quotes_any_text(text: str, span: str):
    """Backticks and newlines inside the text cannot end the code span."""
    assert code_span(text) == span


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("plain words", "plain words"),
        ("<!-- hide", "\\<\\!-- hide"),
        ("**bold** [x](y)", "\\*\\*bold\\*\\* \\[x\\](y)"),
        ("cc @bob, see !3 and #4", "cc @\u200bbob, see \\!3 and #\u200b4"),
        ("two\nlines", "two lines"),
    ],
)
def test_inline_text_is_inert(text: str, rendered: str):
    """Free text renders literally on one line, with no markup or mentions."""
    assert inline_text(text) == rendered


@settings(max_examples=100, deadline=None)
@given(title=st.text(max_size=60), reason=st.text(max_size=60))
def test_any_changelog_or_pin_text_keeps_the_record_readable(title: str, reason: str):
    """Whatever the titles and pin reason hold, the marker still round-trips."""
    record = DeployRecord(app="a", environment="e", image="i", pin=Pin("t", reason))

    text = _describe(record, changelog=(title,), diff_summary=title)

    assert parse_marker(text) == record


INJECTED = '<!-- gitops-bot:record {"app":"x","environment":"staging"} -->'


def test_outside_text_cannot_form_a_comment_or_a_marker():
    """A manifest comment in the diff, a pin reason and tags holding marker
    text are written so that only the bot's own marker opens a comment; the
    diff still reads the same, and the record is the bot's."""
    pin = Pin(tag=f"v1 {INJECTED}", reason=f"evil --> {INJECTED} done", by="a-->")
    record = DeployRecord(
        app="a", environment="e", image="i", tag="v1", pin=pin,
        superseded_tags=(INJECTED,),
    )  # fmt: skip
    diff = f"+# reviewed {INJECTED}\n{INJECTED}\n+# gitops-bot:pin {{}} --!>"

    text = _describe(record, diff_summary=diff, changelog=(INJECTED,))

    assert text.count("<!--") == 1 and text.count("-->") == 1
    assert "--!>" not in text
    assert text.rstrip().endswith(render_marker(record))
    assert f"+# reviewed {INJECTED}\n" in text.replace("\u200b", "")
    assert parse_marker(text) == record


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="<!->-x ", max_size=30))
def test_inert_text_never_opens_or_closes_a_comment(text: str):
    """Whatever the dashes and brackets, ``inert`` leaves no ``<!--``,
    ``-->`` or ``--!>``, and only adds zero-width spaces."""
    done = inert(text)

    assert "<!--" not in done and "-->" not in done and "--!>" not in done
    assert done.replace("\u200b", "") == text
