"""Where a pin lives in the GitOps repository: one comment line in the manifest.

``/gitops pin <tag>`` re-targets the merge request and, in the same commit,
appends ``# gitops-bot:pin {json}`` to the first manifest of the (app,
environment). Deploys of another tag are refused with 409 naming who pinned
and why from then on: while the open merge request proposes the pin (its
record names it), and once merged, while the line is on the target branch,
reviewed like any change; the deploy flow reads it for free (it reads that
file anyway). ``/gitops unpin`` lifts it (on the target branch: once the
line's removal merges), and so does a forced request.
A YAML comment changes nothing the cluster sees.
"""

from __future__ import annotations

import json
import re

from bot.record import Pin, code_span, inline_text

PIN_PREFIX = "# gitops-bot:pin "
_PIN_LINE_RE = re.compile(r"^# gitops-bot:pin (\{.*\})[ \t]*$", re.MULTILINE)


def read_pin(text: str) -> Pin | None:
    """Return the pin recorded in a manifest's text, or None (never raises)."""
    found = _PIN_LINE_RE.findall(text)
    if not found:
        return None
    try:
        data = json.loads(found[-1])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tag"), str):
        return None
    return Pin(tag=data["tag"], reason=_text(data, "reason"), by=_text(data, "by"))


def with_pin(text: str, pin: Pin | None) -> str:
    """Return ``text`` without any pin line, plus ``pin``'s line when given."""
    kept = _PIN_LINE_RE.sub("", text)
    kept = re.sub(r"\n{2,}\Z", "\n", kept) if kept != text else kept
    if pin is None:
        return kept

    data = {"tag": pin.tag, "reason": pin.reason, "by": pin.by}
    line = PIN_PREFIX + json.dumps(data, sort_keys=True, separators=(",", ":"))
    body = kept if not kept or kept.endswith("\n") else kept + "\n"
    return f"{body}{line}\n"


def describe_pin(pin: Pin) -> str:
    """``v1.2.0 by alice: broken migrations`` for refusals and replies."""
    by = f" by {pin.by}" if pin.by else ""
    why = f": {pin.reason}" if pin.reason else ""
    return f"{pin.tag}{by}{why}"


def pin_markdown(pin: Pin) -> str:
    """``describe_pin`` for a reply: the tag alone in a code span, the pinner
    and the reason as inert text (no mention, no markup)."""
    by = f" by {inline_text(pin.by)}" if pin.by else ""
    why = f": {inline_text(pin.reason)}" if pin.reason else ""
    return f"{code_span(pin.tag)}{by}{why}"


def _text(data: dict[str, object], key: str) -> str | None:
    """A string field, or None."""
    value = data.get(key)
    return value if isinstance(value, str) else None
