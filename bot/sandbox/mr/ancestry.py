"""How a source head stands against its target head, cached by the two SHAs.

The answer only depends on the two commits (their history is immutable), so
a pair computed once never goes stale; one ``git merge-base`` answers both
questions. Listing merge requests fills the cache for its page off the event
loop (``prefetch``): ``merge-base`` runs as its own process and touches no
shared reader, so running it in a worker thread is safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from bot.sandbox.git import Repository

CACHE_LIMIT = 20_000


@dataclass(frozen=True)
class Ancestry:
    """The git facts of a source head against a target head."""

    has_commits: bool  # the source holds commits the target lacks
    behind_target: bool  # the target holds commits the source lacks


Pair = tuple[Repository, str, str]


def compute(repo: Repository, source: str, target: str) -> Ancestry:
    """Ask git: the merge base equals a side exactly when that side is contained."""
    base = repo.merge_base(source, target)
    return Ancestry(has_commits=base != source, behind_target=base != target)


class AncestryCache:
    """``Ancestry`` per (repository, source SHA, target SHA), bounded in size."""

    def __init__(self, limit: int = CACHE_LIMIT) -> None:
        self._known: dict[tuple[str, str, str], Ancestry] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._known)

    def of(self, repo: Repository, source: str, target: str) -> Ancestry:
        """The cached answer, computed now on a miss."""
        key = (str(repo.path), source, target)
        found = self._known.get(key)
        if found is None:
            found = compute(repo, source, target)
            self._remember(key, found)
        return found

    def missing(self, pairs: Iterable[Pair]) -> list[Pair]:
        """The pairs not cached yet, each once."""
        wanted = {(str(r.path), s, t): (r, s, t) for r, s, t in pairs}
        return [pair for key, pair in wanted.items() if key not in self._known]

    async def prefetch(self, pairs: Iterable[Pair]) -> None:
        """Compute every missing pair in a worker thread, then cache them."""
        todo = self.missing(pairs)
        if not todo:
            return

        answers = await asyncio.to_thread(lambda: [compute(*pair) for pair in todo])

        for (repo, source, target), answer in zip(todo, answers, strict=True):
            self._remember((str(repo.path), source, target), answer)

    def _remember(self, key: tuple[str, str, str], answer: Ancestry) -> None:
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[key] = answer
