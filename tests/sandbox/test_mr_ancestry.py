"""The ancestry cache behind merge-request listing, on a real repository."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.sandbox.git import Repository, Signature
from bot.sandbox.gitcommit import Action, create_commit
from bot.sandbox.mr.ancestry import Ancestry, AncestryCache, compute

WHO = Signature("Tester", "tester@example.com", datetime(2026, 1, 2, tzinfo=UTC))


@pytest.fixture
def history(tmp_path):
    """A repository: root <- main, and root <- side (diverged), main <- ahead."""
    repo = Repository(tmp_path / "r.git")
    repo.init("main")

    def commit(parent, name):
        return create_commit(repo, parent, [Action("create", name, b"x")], name, WHO)

    root = commit(None, "root")
    main = commit(root, "main")
    yield (
        repo,
        {
            "root": root,
            "main": main,
            "side": commit(root, "side"),
            "ahead": commit(main, "ahead"),
            "alone": commit(None, "alone"),
        },
    )
    repo.close()


@pytest.mark.parametrize(
    ("source", "target", "has_commits", "behind"),
    [
        ("ahead", "main", True, False),
        ("main", "ahead", False, True),
        ("side", "main", True, True),
        ("main", "main", False, False),
        ("root", "main", False, True),
        ("alone", "main", True, True),
    ],
)
def test_compute_matches_is_ancestor(history, source, target, has_commits, behind):
    """One merge-base answers what two is-ancestor calls answered."""
    repo, shas = history

    answer = compute(repo, shas[source], shas[target])

    assert answer == Ancestry(has_commits=has_commits, behind_target=behind)
    assert answer.has_commits == (not repo.is_ancestor(shas[source], shas[target]))
    assert answer.behind_target == (not repo.is_ancestor(shas[target], shas[source]))


async def test_prefetch_fills_the_cache_once_per_pair(history) -> None:
    """Prefetch computes each missing pair once; later reads are cache hits."""
    repo, shas = history
    cache = AncestryCache()
    pairs = [(repo, shas["side"], shas["main"])] * 3 + [
        (repo, shas["ahead"], shas["main"])
    ]

    await cache.prefetch(pairs)

    assert len(cache) == 2
    assert cache.missing(pairs) == []
    assert cache.of(repo, shas["side"], shas["main"]).behind_target is True


def test_cache_is_bounded(history) -> None:
    """Past its limit the cache starts over instead of growing."""
    repo, shas = history
    cache = AncestryCache(limit=2)

    for source in ("ahead", "side", "root"):
        cache.of(repo, shas[source], shas["main"])

    assert len(cache) == 1
