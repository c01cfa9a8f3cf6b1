"""The changelog of a deploy: the source project's MRs merged between two tags.

Pure: the flow fetches the commit messages between the tags (one compare
call on the source project); this module reads them. GitLab's default merge
commit message is::

    Merge branch 'feature' into 'main'

    <the merge request's title>

    <closed issues, if any>

    See merge request group/project!12

A project's merge commit template may reword it; the ``See merge request``
line is what marks a merge. Fast-forward merges leave no merge commit, so a
project that merges that way gets no changelog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.record import DeployRecord

MAX_TITLES = 30
_REFERENCE = re.compile(r"^See merge request (\S+![0-9]+)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Span:
    """The source project and the two tags a changelog lies between."""

    project: str
    previous_tag: str
    tag: str


def changelog_span(record: DeployRecord) -> Span | None:
    """The span of ``record``'s changelog; None when a part is unknown or the
    tags are the same."""
    project = record.source.project if record.source else None
    if not (project and record.previous_tag and record.tag):
        return None
    if record.previous_tag == record.tag:
        return None
    return Span(project, record.previous_tag, record.tag)


def merged_titles(messages: Iterable[str], limit: int = MAX_TITLES) -> tuple[str, ...]:
    """The titles of the merge requests whose merge commits are in
    ``messages`` (oldest first), each once, at most ``limit`` of them.

    Past ``limit``, the newest are kept after a line saying how many
    earlier ones the compare link shows.
    """
    titles: dict[str, str] = {}
    for message in messages:
        found = _REFERENCE.search(message)
        if found and found.group(1) not in titles:
            titles[found.group(1)] = _title(message) or found.group(1)

    kept = tuple(titles.values())
    if len(kept) <= limit:
        return kept
    earlier = len(kept) - limit
    return (f"{earlier} earlier merge requests: see the compare link", *kept[-limit:])


def _title(message: str) -> str:
    """The merge request's title in a merge commit message.

    The default message puts it in the paragraph after the first line; a
    template that starts with the title puts it first.
    """
    lines = [line.strip() for line in message.splitlines()]
    if lines and lines[0].startswith("Merge branch ") and "" in lines:
        after = lines[lines.index("") :]
        lines = [line for line in after if line] or lines
    title = lines[0] if lines else ""
    return "" if _REFERENCE.match(title) else title
