"""Project labels, and how a merge request's label set changes.

Labels are stored per project. A title ``key::value`` is a scoped label on
the premium tier: a merge request carries one label per key, so adding
``prio::high`` drops ``prio::low``. On free ``::`` means nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.sandbox.mr.model import label_scope

DEFAULT_COLOR = "#6699cc"
HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
# A few CSS names GitLab accepts; others answer the validation error.
CSS_COLORS = {
    "black": "#000000",
    "white": "#ffffff",
    "red": "#ff0000",
    "green": "#008000",
    "blue": "#0000ff",
    "yellow": "#ffff00",
    "orange": "#ffa500",
    "purple": "#800080",
    "gray": "#808080",
    "grey": "#808080",
}


def split_titles(value: object) -> list[str]:
    """Parse a ``labels`` parameter: a JSON list or a comma-separated string."""
    if value is None:
        return []

    items = value if isinstance(value, list) else str(value).split(",")
    titles = [str(item).strip() for item in items]
    return list(dict.fromkeys(title for title in titles if title))


def normalise_color(value: str) -> str | None:
    """Return ``value`` as ``#rrggbb``-style text, or None when it is no colour."""
    text = value.strip()
    if HEX_COLOR.match(text):
        return text
    return CSS_COLORS.get(text.lower())


def text_color(color: str) -> str:
    """White text on dark backgrounds, dark text on light ones (as GitLab)."""
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(char * 2 for char in digits)

    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    return "#1F1E24" if luminance > 150 else "#FFFFFF"


def title_error(title: str) -> str | None:
    """Return GitLab's validation message for a bad label title, or None."""
    if not title.strip():
        return "can't be blank"
    if "," in title or len(title) > 255:
        return "is invalid"
    return None


def apply_scoped(current: Sequence[str], added: Iterable[str]) -> list[str]:
    """Add ``added`` to ``current``; each new scoped label evicts its scope-mates."""
    result = list(current)
    for title in added:
        scope = label_scope(title)
        if scope is not None:
            result = [kept for kept in result if label_scope(kept) != scope]
        if title not in result:
            result.append(title)
    return result


def next_titles(
    current: Sequence[str],
    replace: list[str] | None,
    add: list[str],
    remove: list[str],
    scoped: bool,
) -> list[str]:
    """The label titles after an update with labels, add_labels, remove_labels.

    As GitLab's ``IssuableBaseService``: start from ``replace`` (the
    ``labels`` parameter) or the current set, add, then remove. New scoped
    labels evict the labels of the same scope.
    """
    base = list(current) if replace is None else []
    added = [*(replace or []), *add]

    if scoped:
        merged = apply_scoped(base, added)
    else:
        merged = list(dict.fromkeys([*base, *added]))
    return [title for title in merged if title not in remove]
