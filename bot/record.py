"""The deploy record each bot merge request carries in its description.

GitLab is the only state (DESIGN.md, principle 1): the record lives in a hidden
HTML comment at the end of the merge request description,
``<!-- gitops-bot:record {json} -->``. GitLab's Markdown renderer keeps HTML
comments out of the page, so reviewers see only the human part.

The JSON is compact with sorted keys, so the same record always renders to the
same bytes (an unchanged description is not rewritten). ``<``, ``>`` and ``&``
are written as ``\\u003c``, ``\\u003e`` and ``\\u0026`` wherever they occur; as
JSON only allows them inside strings this is still valid JSON, and no value can
ever close the comment with ``-->``.

Everything else in a description comes from outside the bot (the manifest
diff, pin reasons, tags, titles) and goes through ``inert``, ``code_span`` or
``inline_text``, which never let ``<!--`` or ``-->`` through: outside text
can neither open a comment nor forge a marker. ``read_marker`` still takes
only the last marker, where the bot writes it (see there), so a description
written before that escaping reads too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

MARKER_OPEN = "<!-- gitops-bot:record "
MARKER_CLOSE = " -->"
RECORD_VERSION = 1

_MARKER_RE = re.compile(r"<!-- gitops-bot:record ([^\n]*?) -->")
# Between the dashes of "<!--", "-->" and "--!>": where a zero-width space goes.
_COMMENT_DASHES_RE = re.compile(r"(?<=<!-)(?=-)|(?<=-)(?=-!?>)")
_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


@dataclass(frozen=True)
class Source:
    """Where a deployed image came from, as the deploy request told us."""

    project: str | None = None
    sha: str | None = None
    ref: str | None = None
    pipeline_url: str | None = None


@dataclass(frozen=True)
class Pin:
    """A pin on (app, environment): later bumps are refused until ``unpin``."""

    tag: str
    reason: str | None = None
    by: str | None = None


@dataclass(frozen=True)
class DeployRecord:
    """What a bot merge request deploys, and what it replaces.

    ``commit`` is the SHA of the branch commit the bot wrote for it: any
    other head on the branch was pushed by someone else. Markers written
    before it existed have none.
    """

    app: str
    environment: str
    image: str
    tag: str | None = None
    digest: str | None = None
    previous_tag: str | None = None
    previous_digest: str | None = None
    source: Source | None = None
    superseded_tags: tuple[str, ...] = ()
    requested_by: str | None = None
    pin: Pin | None = None
    version: int = RECORD_VERSION
    commit: str | None = None

    def same_deployment(self, other: DeployRecord | None) -> bool:
        """Whether ``other`` records this deployment, whatever commit each
        names (a plan's record learns its commit only once it is written)."""
        return other is not None and replace(other, commit=self.commit) == self


@dataclass(frozen=True)
class MarkerReading:
    """The outcome of reading a description: a record, or why there is none.

    ``problem`` is None both for a good record and for a description without
    any marker (``found`` tells them apart).
    """

    record: DeployRecord | None
    found: bool
    problem: str | None = None


class _CorruptRecord(ValueError):
    """Raised inside this module only; ``read_marker`` turns it into a reason."""


def render_marker(record: DeployRecord) -> str:
    """Return the hidden HTML comment that carries ``record``."""
    text = json.dumps(_record_to_json(record), sort_keys=True, separators=(",", ":"))
    for char, escape in _HTML_ESCAPES.items():
        text = text.replace(char, escape)

    return f"{MARKER_OPEN}{text}{MARKER_CLOSE}"


def parse_marker(description: str | None) -> DeployRecord | None:
    """Return the record in a description, or None when absent or unreadable.

    Never raises; use ``read_marker`` to learn why a marker was refused.
    """
    return read_marker(description).record


def has_marker(description: str | None) -> bool:
    """Say whether a description contains a record marker, readable or not."""
    return isinstance(description, str) and MARKER_OPEN in description


def read_marker(description: str | None) -> MarkerReading:
    """Read the record marker of a description, never raising.

    The record is the last marker (each on one line): the bot writes exactly
    one, as the description's last line, after everything it copies from
    outside. Earlier marker text (a manifest comment in the diff, a quoted
    reason, a pasted description) is not the bot's and is ignored rather
    than making the record unreadable: outside text is escaped (``inert``),
    but descriptions written before that may still carry it.
    Someone who may edit the description can rewrite the record anyway, so
    believing the last one trusts nobody new.

    ``problem`` says why a description that mentions a marker has no
    readable record.
    """
    if not isinstance(description, str):
        return MarkerReading(record=None, found=False)

    payloads = _MARKER_RE.findall(description)
    if not payloads:
        return MarkerReading(
            record=None,
            found=has_marker(description),
            problem=_unclosed_problem(description),
        )

    try:
        record = _record_from_json(json.loads(payloads[-1]))
    except (ValueError, _CorruptRecord) as error:
        return MarkerReading(record=None, found=True, problem=str(error))
    return MarkerReading(record=record, found=True)


def _unclosed_problem(description: str) -> str | None:
    """Name the problem of a marker that was opened but never closed."""
    if has_marker(description):
        return "the record marker is not closed with ' -->' on its line"
    return None


def _record_to_json(record: DeployRecord) -> dict[str, Any]:
    """Turn a record into plain JSON values (``commit`` only when known, so a
    record without one renders as it did before the field existed)."""
    commit = {} if record.commit is None else {"commit": record.commit}
    return commit | {
        "app": record.app,
        "environment": record.environment,
        "image": record.image,
        "tag": record.tag,
        "digest": record.digest,
        "previous_tag": record.previous_tag,
        "previous_digest": record.previous_digest,
        "source": None if record.source is None else vars(record.source).copy(),
        "superseded_tags": list(record.superseded_tags),
        "requested_by": record.requested_by,
        "pin": None if record.pin is None else vars(record.pin).copy(),
        "version": record.version,
    }


def _record_from_json(data: object) -> DeployRecord:
    """Build a record from decoded JSON, checking every field's type."""
    obj = _ensure_object(data, "record")
    version = obj.get("version")
    if type(version) is not int or version < 1:
        raise _CorruptRecord(f"record version {version!r} is not a positive integer")
    if version > RECORD_VERSION:
        raise _CorruptRecord(
            f"record version {version} is newer than this bot reads "
            f"({RECORD_VERSION}); upgrade gitops-bot"
        )

    return DeployRecord(
        app=_text(obj, "app"),
        environment=_text(obj, "environment"),
        image=_text(obj, "image"),
        tag=_optional_text(obj, "tag"),
        digest=_optional_text(obj, "digest"),
        previous_tag=_optional_text(obj, "previous_tag"),
        previous_digest=_optional_text(obj, "previous_digest"),
        source=_source_from_json(obj.get("source")),
        superseded_tags=_text_list(obj, "superseded_tags"),
        requested_by=_optional_text(obj, "requested_by"),
        pin=_pin_from_json(obj.get("pin")),
        version=version,
        commit=_optional_text(obj, "commit"),
    )


def _source_from_json(data: object) -> Source | None:
    """Build the optional source block."""
    if data is None:
        return None

    obj = _ensure_object(data, "source")
    return Source(
        project=_optional_text(obj, "project", "source."),
        sha=_optional_text(obj, "sha", "source."),
        ref=_optional_text(obj, "ref", "source."),
        pipeline_url=_optional_text(obj, "pipeline_url", "source."),
    )


def _pin_from_json(data: object) -> Pin | None:
    """Build the optional pin block."""
    if data is None:
        return None

    obj = _ensure_object(data, "pin")
    return Pin(
        tag=_text(obj, "tag", "pin."),
        reason=_optional_text(obj, "reason", "pin."),
        by=_optional_text(obj, "by", "pin."),
    )


def _ensure_object(data: object, what: str) -> dict[str, Any]:
    """Return ``data`` as a JSON object, or refuse naming ``what``."""
    if not isinstance(data, dict):
        raise _CorruptRecord(f"{what} is {type(data).__name__}, not an object")
    return data


def _text(obj: dict[str, Any], key: str, where: str = "") -> str:
    """Return a required string field."""
    value = obj.get(key)
    if not isinstance(value, str):
        raise _CorruptRecord(f"field {where}{key} is {value!r}, not a string")
    return value


def _optional_text(obj: dict[str, Any], key: str, where: str = "") -> str | None:
    """Return an optional string field (absent or null gives None)."""
    if obj.get(key) is None:
        return None
    return _text(obj, key, where)


def _text_list(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    """Return a list-of-strings field as a tuple (absent gives ())."""
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _CorruptRecord(f"field {key} is {value!r}, not a list of strings")
    return tuple(value)


def render_description(
    record: DeployRecord,
    *,
    merge_request_commands: tuple[str, ...],
    compare_url: str | None,
    changelog: tuple[str, ...],
    diff_summary: str,
) -> str:
    """Return the merge request description: the reviewer's view, then the marker.

    ``merge_request_commands`` are ready-made Markdown lines (see
    ``bot.chatops.command_lines``); ``changelog`` holds the titles of the
    merge requests merged between the two tags, oldest first.
    """
    sections = [
        f"Deploy {code_span(record.app)} to **{inline_text(record.environment)}**",
        "\n".join(_summary_table(record, compare_url)),
        _pin_paragraph(record.pin),
        _bullets("Changes since the deployed tag", tuple(map(inline_text, changelog))),
        _diff_section(diff_summary),
        _bullets("Commands", merge_request_commands),
        render_marker(record),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def code_span(text: str) -> str:
    """Return ``text`` as a Markdown code span that no content can break out of.

    Mentions and references inside a code span do not notify anyone.
    """
    flat = inert(" ".join(text.splitlines())) or " "
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def inline_text(text: str) -> str:
    """Return free text as one line of inert Markdown.

    Markdown and HTML punctuation is backslash-escaped, and ``@`` and ``#``
    references are broken with a zero-width space so that echoing a title or a
    reason never pings a user or links an issue.
    """
    flat = " ".join(text.split())
    escaped = re.sub(r"([\\`*_\[\]<>|~!&])", r"\\\1", flat)
    return inert(re.sub(r"([@#])(?=\w)", "\\1\u200b", escaped))


def note_text(error: Exception) -> str:
    """An error's message for a GitLab note: its own Markdown form when it
    has one (free text in it made inert), else the message with HTML
    comments made inert, so nothing after ``<!--`` disappears."""
    markdown = getattr(error, "markdown", None)
    return markdown if isinstance(markdown, str) else inert(str(error))


def inert(text: str) -> str:
    """Return ``text`` unable to open or close an HTML comment.

    A zero-width space goes between the dashes of every ``<!--``, ``-->`` and
    ``--!>``: the text looks the same, in code too (where no escape works),
    but can never hide what follows or forge the record marker.
    """
    return _COMMENT_DASHES_RE.sub("\u200b", text)


def _summary_table(record: DeployRecord, compare_url: str | None) -> list[str]:
    """Return the rows of the what-changes table."""
    rows = [
        ("Image", code_span(record.image)),
        ("Tag", _change(record.previous_tag, record.tag)),
        ("Digest", _change(record.previous_digest, record.digest)),
        ("Source", _source_cell(record.source)),
        ("Requested by", _optional_code(record.requested_by)),
        ("Compare", _link("changes between the tags", compare_url)),
        ("Supersedes", ", ".join(map(code_span, record.superseded_tags))),
    ]
    lines = ["| | |", "| --- | --- |"]
    lines += [f"| {name} | {cell} |" for name, cell in rows if cell]
    return lines


def _change(old: str | None, new: str | None) -> str:
    """Return ``old -> new`` for a tag or digest, or "" when both are unknown."""
    if old is None and new is None:
        return ""
    return f"{_optional_code(old) or '(none)'} → {_optional_code(new) or '(none)'}"


def _source_cell(source: Source | None) -> str:
    """Describe the source project, commit, ref and pipeline."""
    if source is None:
        return ""

    parts = [
        _optional_code(source.project),
        f"commit {code_span(source.sha[:12])}" if source.sha else "",
        f"ref {code_span(source.ref)}" if source.ref else "",
        _link("pipeline", source.pipeline_url),
    ]
    return ", ".join(part for part in parts if part)


def _pin_paragraph(pin: Pin | None) -> str:
    """Say that the (app, environment) is pinned, by whom and why."""
    if pin is None:
        return ""

    by = f" by {code_span(pin.by)}" if pin.by else ""
    why = f": {inline_text(pin.reason)}" if pin.reason else ""
    return f"**Pinned** to {code_span(pin.tag)}{by}{why}"


def _bullets(title: str, lines: tuple[str, ...]) -> str:
    """Return a titled bullet list, or "" when there is nothing to list."""
    if not lines:
        return ""
    return "\n".join([f"#### {title}", "", *(f"- {line}" for line in lines)])


def _diff_section(diff_summary: str) -> str:
    """Return the manifest diff in a fence that its content cannot close."""
    if not diff_summary.strip():
        return ""

    longest = max((len(run) for run in re.findall(r"`{3,}", diff_summary)), default=2)
    fence = "`" * (longest + 1)
    diff = inert(diff_summary.rstrip())
    return f"#### Manifest changes\n\n{fence}diff\n{diff}\n{fence}"


def _optional_code(text: str | None) -> str:
    """Return a code span, or "" for None."""
    return "" if text is None else code_span(text)


def _link(label: str, url: str | None) -> str:
    """Return a Markdown link to an http(s) URL, or "" for anything else."""
    if not url or not re.match(r"https?://[^\s()<>]+\Z", url):
        return ""
    return f"[{label}]({url})"
