"""Diffs and three-way merges of a sandbox repository.

Diffs come out in GitLab's shape (``old_path``, ``new_path``, modes, the
patch text from the first hunk on, and the new/renamed/deleted flags);
merges use ``git merge-tree --write-tree``, so conflicts are exactly the
ones git finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.sandbox.git import Repository, Signature

NO_MODE = "0"


@dataclass(frozen=True)
class Conflict:
    """A three-way merge that git could not finish; the conflicting paths."""

    paths: tuple[str, ...]


def _raw_entries(repo: Repository, base: str, head: str) -> list[dict[str, Any]]:
    text = repo.out(["diff", "--raw", "-z", "-M", "--full-index", base, head])
    fields = text.split("\0")
    entries, index = [], 0
    while index < len(fields) - 1:
        meta = fields[index].lstrip(":").split()
        old_mode, new_mode, status = meta[0], meta[1], meta[4]
        if status[0] in "RC":
            old_path, new_path = fields[index + 1], fields[index + 2]
            index += 3
        else:
            old_path = new_path = fields[index + 1]
            index += 2
        entries.append(
            {
                "old_path": old_path,
                "new_path": new_path,
                "a_mode": NO_MODE if old_mode == "000000" else old_mode,
                "b_mode": NO_MODE if new_mode == "000000" else new_mode,
                "new_file": status[0] == "A",
                "renamed_file": status[0] == "R",
                "deleted_file": status[0] == "D",
            }
        )
    return entries


def _patches(repo: Repository, base: str, head: str) -> list[str]:
    text = repo.out(["diff", "-M", "--full-index", "--no-color", "-p", base, head])
    chunks = []
    for chunk in text.split("\ndiff --git ")[0:] if text else []:
        lines = chunk.split("\n")
        start = next(
            (
                n
                for n, line in enumerate(lines)
                if line.startswith(("@@", "Binary files"))
            ),
            len(lines),
        )
        body = "\n".join(lines[start:])
        chunks.append(body if body.endswith("\n") or not body else body + "\n")
    return chunks


def diff(repo: Repository, base: str, head: str) -> list[dict[str, Any]]:
    """Return GitLab diff dictionaries for the change from ``base`` to ``head``."""
    entries = _raw_entries(repo, base, head)
    patches = _patches(repo, base, head)
    for entry, patch in zip(entries, patches, strict=False):
        entry["diff"] = patch
    for entry in entries:
        entry.setdefault("diff", "")
    return [
        {
            "diff": e["diff"],
            "new_path": e["new_path"],
            "old_path": e["old_path"],
            "a_mode": e["a_mode"],
            "b_mode": e["b_mode"],
            "new_file": e["new_file"],
            "renamed_file": e["renamed_file"],
            "deleted_file": e["deleted_file"],
            "generated_file": False,
        }
        for e in entries
    ]


def numstat(repo: Repository, base: str | None, head: str) -> tuple[int, int]:
    """Return (additions, deletions) of ``head`` against ``base`` (root: empty)."""
    args = (
        ["diff", "--numstat", "-z", base, head]
        if base
        else ["diff-tree", "--root", "--numstat", "-z", "-r", head]
    )
    additions = deletions = 0
    for field in repo.out(args).split("\0"):
        parts = field.split("\t")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            additions += int(parts[0])
            deletions += int(parts[1])
    return additions, deletions


def merge_tree(repo: Repository, ours: str, theirs: str) -> str | Conflict:
    """Three-way merge two commits; return the merged tree id or the conflict."""
    done = repo.git(
        [
            "merge-tree",
            "--write-tree",
            "--name-only",
            "-z",
            "--no-messages",
            ours,
            theirs,
        ],
        ok=(0, 1),
    )
    fields = done.stdout.decode(errors="replace").split("\0")
    if done.returncode == 0:
        return fields[0].strip()
    paths = tuple(dict.fromkeys(field for field in fields[1:] if field))
    return Conflict(paths)


def merge(
    repo: Repository, target: str, source: str, message: str, author: Signature
) -> str | Conflict:
    """Return a merge commit of ``source`` into ``target``, or the conflict."""
    tree = merge_tree(repo, target, source)
    if isinstance(tree, Conflict):
        return tree
    return repo.commit_tree(tree, [target, source], message, author)


def squash(
    repo: Repository, base: str, head: str, message: str, author: Signature
) -> str:
    """Return one commit on ``base`` carrying the tree of ``head``."""
    return repo.commit_tree(repo.tree_of(head), [base], message, author)


def can_fast_forward(repo: Repository, target: str, source: str) -> bool:
    """Tell whether ``target`` can move to ``source`` without a merge commit."""
    return repo.is_ancestor(target, source)
