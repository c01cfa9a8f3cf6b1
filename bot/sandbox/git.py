"""Bare git repositories: ``Repository``, the reads and ref writes.

Every git process goes through ``gitrun.run_git`` (explicit environment, no
user configuration, literal pathspecs, a timeout, never a shell). Object
reads go through one ``cat-file --batch`` per repository and refs are read
from their files (``gitobjects``); commits from actions live in
``gitcommit``, diffs and merges in ``gitdiff``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.sandbox.gitobjects import (
    ObjectReader,
    is_object_id,
    list_refs,
    parse_commit,
    parse_tree,
    read_ref,
    write_loose_object,
)
from bot.sandbox.gitrun import (
    LAST_COMMIT_CACHE_LIMIT,
    LOG_FORMAT,
    SUBMODULE,
    TREE,
    ZERO_SHA,
    CommitInfo,
    FileInfo,
    GitFailed,
    Signature,
    TreeEntry,
    git_env,
    ident,
    is_full_sha,
    parse_log,
    run_git,
)

__all__ = [
    "ZERO_SHA",
    "CommitInfo",
    "FileInfo",
    "GitFailed",
    "Repository",
    "Signature",
    "TreeEntry",
    "is_full_sha",
    "run_git",
]


class Repository:
    """One bare repository on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last_commit_cache: dict[tuple[str, str], str | None] = {}
        self._reader = ObjectReader(path, git_env(path))

    def git(self, args: list[str], **kwargs) -> subprocess.CompletedProcess[bytes]:
        """Run a git command in this repository."""
        return run_git(self.path, args, **kwargs)

    def out(self, args: list[str], **kwargs) -> str:
        """Run a git command and return its standard output as text."""
        return self.git(args, **kwargs).stdout.decode(errors="replace")

    def close(self) -> None:
        """Stop the object reader process."""
        self._reader.close()

    def init(self, default_branch: str) -> None:
        """Create the bare repository with ``default_branch`` as HEAD."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        initial = f"--initial-branch={default_branch}"
        run_git(self.path, ["init", "--bare", "-q", "--template=", initial])

    def set_default_branch(self, branch: str) -> None:
        """Point HEAD at ``branch``."""
        self.git(["symbolic-ref", "HEAD", f"refs/heads/{branch}"])

    # Objects and refs

    def object(self, object_id: str) -> tuple[str, bytes] | None:
        """Return (type, content) of an object, or None."""
        return self._reader.read(object_id)

    def peel(self, object_id: str | None) -> str | None:
        """Return the commit an object (a commit or an annotated tag) points at."""
        for _ in range(10):
            found = self.object(object_id) if object_id else None
            if found is None:
                return None
            kind, data = found
            if kind == "commit":
                return object_id
            if kind != "tag":
                return None
            object_id = data.split(b"\n", 1)[0].removeprefix(b"object ").decode()
        return None

    def is_empty(self) -> bool:
        """Tell whether the repository has no branch at all."""
        return not list_refs(self.path, "refs/heads/")

    def head(self, branch: str) -> str | None:
        """Return the commit ``branch`` points at, or None."""
        return read_ref(self.path, f"refs/heads/{branch}")

    def tag_object(self, tag: str) -> str | None:
        """Return the object the tag ref names (a tag object or a commit)."""
        return read_ref(self.path, f"refs/tags/{tag}")

    def tag_target(self, tag: str) -> str | None:
        """Return the commit tag ``tag`` points at, or None."""
        return self.peel(self.tag_object(tag))

    def resolve(self, ref: str) -> str | None:
        """Resolve a branch, tag, commit id or HEAD to a commit id, or None."""
        if not ref or ref.startswith("-") or "\0" in ref or "\n" in ref:
            return None
        if ref == "HEAD":
            return read_ref(self.path, "HEAD")
        for candidate in (self.head(ref), self.tag_target(ref)):
            if candidate:
                return candidate
        if is_object_id(ref):
            return self.peel(ref)
        if 7 <= len(ref) < 40 and all(c in "0123456789abcdef" for c in ref):
            done = self.git(
                ["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], ok=(0, 1, 128)
            )
            return done.stdout.decode().strip() if done.returncode == 0 else None
        return None

    def branches(self) -> list[tuple[str, str]]:
        """Return (name, head) of every branch, sorted by name."""
        return list_refs(self.path, "refs/heads/")

    def tags(self) -> list[tuple[str, str]]:
        """Return (name, commit) of every tag, sorted by name."""
        pairs = [(n, self.peel(sha)) for n, sha in list_refs(self.path, "refs/tags/")]
        return [(name, sha) for name, sha in pairs if sha]

    def tag_message(self, tag: str) -> str | None:
        """Return an annotated tag's message, or None for a lightweight tag."""
        found = self.object(self.tag_object(tag) or "")
        if found is None or found[0] != "tag":
            return None
        return found[1].decode(errors="replace").partition("\n\n")[2].rstrip("\n")

    # Commits and trees

    def commit_info(self, sha: str) -> CommitInfo:
        """Return the commit ``sha`` (which must exist)."""
        found = self.object(sha)
        if found is None or found[0] != "commit":
            raise GitFailed(["cat-file", sha], 128, f"{sha} is not a commit")
        raw = parse_commit(found[1])
        return CommitInfo(
            id=sha,
            parent_ids=raw.parents,
            author_name=raw.author[0],
            author_email=raw.author[1],
            authored_date=raw.author[2],
            committer_name=raw.committer[0],
            committer_email=raw.committer[1],
            committed_date=raw.committer[2],
            message=raw.message,
        )

    def tree_of(self, commit: str) -> str:
        """Return the tree id of ``commit``."""
        found = self.object(commit)
        if found is None or found[0] != "commit":
            raise GitFailed(["cat-file", commit], 128, f"{commit} is not a commit")
        return parse_commit(found[1]).tree

    def log(
        self,
        ref: str,
        *,
        path: str | None = None,
        max_count: int | None = None,
        skip: int = 0,
        exclude: str | None = None,
        first_parent: bool = False,
        reverse: bool = False,
        extra: list[str] | None = None,
    ) -> list[CommitInfo]:
        """Return commits reachable from ``ref`` (newest first unless reversed)."""
        args = ["log", f"--format={LOG_FORMAT}"]
        if max_count is not None:
            args.append(f"--max-count={max_count}")
        if skip:
            args.append(f"--skip={skip}")
        if first_parent:
            args.append("--first-parent")
        if reverse:
            args.append("--reverse")
        args.append(ref)
        if exclude:
            args.append(f"^{exclude}")
        args += extra or []
        if path:
            args += ["--", path]
        return parse_log(self.out(args))

    def last_commit_for_path(self, ref_sha: str, path: str) -> str | None:
        """Return the newest commit at or before ``ref_sha`` that touched ``path``."""
        key = (ref_sha, path)
        if len(self._last_commit_cache) > LAST_COMMIT_CACHE_LIMIT:
            self._last_commit_cache.clear()
        if key not in self._last_commit_cache:
            sha = self.out(["log", "-1", "--format=%H", ref_sha, "--", path]).strip()
            self._last_commit_cache[key] = sha or None
        return self._last_commit_cache[key]

    def tree_entries(self, tree: str) -> list[tuple[str, str, str]]:
        """Return (mode, name, id) of a tree object's entries."""
        found = self.object(tree)
        return parse_tree(found[1]) if found and found[0] == "tree" else []

    def lookup(self, commit: str, path: str) -> tuple[str, str] | None:
        """Return (mode, object id) of ``path`` in ``commit`` ("" is the root)."""
        mode, current = TREE, self.tree_of(commit)
        for part in [p for p in path.split("/") if p]:
            if mode != TREE:
                return None
            entry = next((e for e in self.tree_entries(current) if e[1] == part), None)
            if entry is None:
                return None
            mode, _, current = entry
        return mode, current

    def file_info(self, commit: str, path: str) -> FileInfo | None:
        """Return the blob at ``path`` in ``commit``, or None when absent."""
        found = self.lookup(commit, path)
        if found is None or found[0] in (TREE, SUBMODULE):
            return None
        blob = self.object(found[1])
        size = len(blob[1]) if blob else 0
        return FileInfo(commit, path, found[1], found[0], size)

    def read_blob(self, blob_id: str) -> bytes:
        """Return the bytes of a blob."""
        found = self.object(blob_id)
        return found[1] if found else b""

    def read_file(self, ref: str, path: str) -> bytes | None:
        """Return the bytes of ``path`` at ``ref``, or None."""
        commit = self.resolve(ref)
        info = self.file_info(commit, path) if commit else None
        return self.read_blob(info.blob_id) if info else None

    def tree(
        self, commit: str, path: str = "", recursive: bool = False
    ) -> list[TreeEntry] | None:
        """List the tree at ``path`` in ``commit``; None when it is not a tree."""
        path = path.strip("/")
        found = self.lookup(commit, path)
        if found is None or found[0] != TREE:
            return None
        entries: list[TreeEntry] = []
        self._walk(found[1], path, recursive, entries)
        return entries

    def _walk(
        self, tree: str, prefix: str, recursive: bool, into: list[TreeEntry]
    ) -> None:
        kinds = {TREE: "tree", SUBMODULE: "commit"}
        for mode, name, sha in self.tree_entries(tree):
            full = f"{prefix}/{name}" if prefix else name
            kind = kinds.get(mode, "blob")
            into.append(TreeEntry(sha, name, kind, full, mode))
            if recursive and kind == "tree":
                self._walk(sha, full, recursive, into)

    # Writes

    def set_ref(self, ref: str, new: str, old: str | None) -> bool:
        """Move ``ref`` to ``new`` if it still points at ``old`` (None: absent)."""
        done = self.git(["update-ref", ref, new, old or ZERO_SHA], ok=(0, 1, 128))
        return done.returncode == 0

    def delete_ref(self, ref: str, old: str) -> bool:
        """Delete ``ref`` if it still points at ``old``."""
        return self.git(["update-ref", "-d", ref, old], ok=(0, 1, 128)).returncode == 0

    def create_tag(self, name: str, sha: str, message: str, tagger: Signature) -> bool:
        """Create tag ``name`` at ``sha`` (annotated if ``message``); False if taken."""
        if not message:
            return self.set_ref(f"refs/tags/{name}", sha, None)
        body = (
            f"object {sha}\ntype commit\ntag {name}\n"
            f"tagger {tagger.name} <{tagger.email}> "
            f"{int(tagger.when.timestamp())} +0000"
            f"\n\n{message}\n"
        )
        tag_sha = self.out(["mktag"], input=body.encode()).strip()
        return self.set_ref(f"refs/tags/{name}", tag_sha, None)

    def is_valid_ref_name(self, name: str) -> bool:
        """Tell whether ``name`` is a valid branch or tag name for git."""
        if not name or name.startswith(("-", "/")) or name == "HEAD":
            return False
        done = self.git(["check-ref-format", "--branch", name], ok=(0, 1, 128))
        return done.returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        """Return the best common ancestor of ``a`` and ``b``, or None."""
        done = self.git(["merge-base", a, b], ok=(0, 1))
        return done.stdout.decode().strip() or None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Tell whether ``ancestor`` is reachable from ``descendant``."""
        args = ["merge-base", "--is-ancestor", ancestor, descendant]
        return self.git(args, ok=(0, 1)).returncode == 0

    def commit_tree(
        self, tree: str, parents: list[str], message: str, author: Signature
    ) -> str:
        """Write a commit object for ``tree`` (as ``commit-tree``); return its id."""
        stamp = f"{int(author.when.timestamp())} +0000"
        name, email = (ident(author.name), ident(author.email))
        person = f"{name} <{email}> {stamp}"
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
        lines += [f"author {person}", f"committer {person}", "", message]
        text = "\n".join(lines)
        return write_loose_object(
            self.path, "commit", text.encode() + b"\n" * (not text.endswith("\n"))
        )
