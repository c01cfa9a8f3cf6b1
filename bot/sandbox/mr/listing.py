"""Filters and ordering of ``GET /projects/:id/merge_requests`` (pure)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.sandbox.mr.model import MergeRequest

STATES = ("opened", "closed", "locked", "merged", "all")
ORDERS = ("created_at", "updated_at", "title", "merged_at", "label_priority")


@dataclass(frozen=True)
class ListQuery:
    """The filters of a list request, parsed."""

    state: str = "all"
    source_branch: str | None = None
    target_branch: str | None = None
    labels: tuple[str, ...] = ()
    author_id: int | None = None
    iids: tuple[int, ...] = ()
    draft: bool | None = None
    order_by: str = "created_at"
    sort: str = "desc"


def label_filter(wanted: Sequence[str], titles: Sequence[str]) -> bool:
    """GitLab's ``labels`` filter: all named, or ``None`` (no label) / ``Any``."""
    if not wanted:
        return True
    if len(wanted) == 1 and wanted[0].lower() == "none":
        return not titles
    if len(wanted) == 1 and wanted[0].lower() == "any":
        return bool(titles)
    return all(title in titles for title in wanted)


def matches(query: ListQuery, mr: MergeRequest, titles: Sequence[str]) -> bool:
    """Whether ``mr`` (with label ``titles``) passes every filter of ``query``."""
    checks: list[Callable[[], bool]] = [
        lambda: query.state == "all" or mr.state == query.state,
        lambda: query.source_branch in (None, mr.source_branch),
        lambda: query.target_branch in (None, mr.target_branch),
        lambda: query.author_id in (None, mr.author_id),
        lambda: not query.iids or mr.iid in query.iids,
        lambda: query.draft is None or mr.draft == query.draft,
        lambda: label_filter(query.labels, titles),
    ]
    return all(check() for check in checks)


def sort_key(order_by: str) -> Callable[[MergeRequest], Any]:
    """The key ``order_by`` sorts on (ties broken by id)."""
    if order_by == "title":
        return lambda mr: (mr.title.lower(), mr.id)
    if order_by == "updated_at":
        return lambda mr: (mr.updated_at, mr.id)
    if order_by == "merged_at":
        return lambda mr: (mr.merged_at or "", mr.id)
    return lambda mr: (mr.created_at, mr.id)


def ordered(items: list[MergeRequest], query: ListQuery) -> list[MergeRequest]:
    """``items`` in the order the query asks for (``desc`` by default)."""
    return sorted(items, key=sort_key(query.order_by), reverse=query.sort == "desc")
