"""Bare git repositories driven through the ``git`` command line.

Every call goes through ``run_git``: an explicit environment without user
configuration, literal pathspecs, a timeout, and never a shell. Reads live
here; building commits from actions lives in ``gitcommit``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ZERO_SHA = "0" * 40
TIMEOUT_SECONDS = 60.0
FIELD, RECORD = "\x1f", "\x1e"
LOG_FORMAT = (
    FIELD.join(["%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"]) + RECORD
)

BASE_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_LITERAL_PATHSPECS": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
    "HOME": "/nonexistent",
}


class GitFailed(Exception):
    """A git command exited with an error status."""

    def __init__(self, args: list[str], status: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args[:3])} failed ({status}): {stderr}")
        self.status = status
        self.stderr = stderr


@dataclass(frozen=True)
class Signature:
    """Who made a commit, and when."""

    name: str
    email: str
    when: datetime

    def env(self, role: str) -> dict[str, str]:
        """Return the GIT_<ROLE>_* variables for this signature."""
        stamp = f"{int(self.when.timestamp())} +0000"
        return {
            f"GIT_{role}_NAME": self.name,
            f"GIT_{role}_EMAIL": self.email,
            f"GIT_{role}_DATE": stamp,
        }


@dataclass(frozen=True)
class CommitInfo:
    """A commit as ``git log`` describes it."""

    id: str
    parent_ids: tuple[str, ...]
    author_name: str
    author_email: str
    authored_date: datetime
    committer_name: str
    committer_email: str
    committed_date: datetime
    message: str

    @property
    def title(self) -> str:
        """The first line of the message."""
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a tree listing."""

    id: str
    name: str
    type: str  # blob | tree | commit
    path: str
    mode: str


@dataclass(frozen=True)
class FileInfo:
    """A file at a commit: its blob, mode and size."""

    commit_id: str
    path: str
    blob_id: str
    mode: str
    size: int


def run_git(
    git_dir: Path,
    args: list[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git args`` against ``git_dir``; raise GitFailed on other statuses."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **BASE_ENV}
    full_env["GIT_DIR"] = str(git_dir)
    full_env.update(env or {})
    done = subprocess.run(
        ["git", *args],
        input=input,
        capture_output=True,
        env=full_env,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode not in ok:
        raise GitFailed(args, done.returncode, done.stderr.decode(errors="replace"))
    return done


def parse_log(text: str) -> list[CommitInfo]:
    """Parse ``git log --format=LOG_FORMAT`` output into commits."""
    commits = []
    for record in text.split(RECORD):
        record = record.lstrip("\n")
        if not record:
            continue
        sha, parents, an, ae, ad, cn, ce, cd, message = record.split(FIELD, 8)
        commits.append(
            CommitInfo(
                id=sha,
                parent_ids=tuple(parents.split()),
                author_name=an,
                author_email=ae,
                authored_date=datetime.fromisoformat(ad).astimezone(UTC),
                committer_name=cn,
                committer_email=ce,
                committed_date=datetime.fromisoformat(cd).astimezone(UTC),
                message=message.rstrip("\n"),
            )
        )
    return commits


def is_full_sha(text: str) -> bool:
    """Tell whether ``text`` is a 40-digit hexadecimal object id."""
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)


class Repository:
    """One bare repository on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last_commit_cache: dict[tuple[str, str], str | None] = {}

    def git(self, args: list[str], **kwargs) -> subprocess.CompletedProcess[bytes]:
        """Run a git command in this repository."""
        return run_git(self.path, args, **kwargs)

    def out(self, args: list[str], **kwargs) -> str:
        """Run a git command and return its standard output as text."""
        return self.git(args, **kwargs).stdout.decode(errors="replace")

    def init(self, default_branch: str) -> None:
        """Create the bare repository with ``default_branch`` as HEAD."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        run_git(
            self.path, ["init", "--bare", "-q", f"--initial-branch={default_branch}"]
        )

    def set_default_branch(self, branch: str) -> None:
        """Point HEAD at ``branch``."""
        self.git(["symbolic-ref", "HEAD", f"refs/heads/{branch}"])

    def is_empty(self) -> bool:
        """Tell whether the repository has no branch at all."""
        return not self.out(["for-each-ref", "--count=1", "refs/heads"]).strip()

    def head(self, branch: str) -> str | None:
        """Return the commit ``branch`` points at, or None."""
        return self._rev(f"refs/heads/{branch}")

    def tag_target(self, tag: str) -> str | None:
        """Return the commit tag ``tag`` points at, or None."""
        return self._rev(f"refs/tags/{tag}")

    def resolve(self, ref: str) -> str | None:
        """Resolve a branch, tag, commit id or HEAD to a commit id, or None."""
        if not ref or ref.startswith("-") or "\0" in ref:
            return None
        if ref == "HEAD":
            return self._rev("HEAD")
        for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}"):
            sha = self._rev(candidate)
            if sha:
                return sha
        if 7 <= len(ref) <= 40 and all(c in "0123456789abcdef" for c in ref):
            return self._rev(ref)
        return None

    def _rev(self, expression: str) -> str | None:
        done = self.git(
            [
                "rev-parse",
                "--verify",
                "-q",
                "--end-of-options",
                f"{expression}^{{commit}}",
            ],
            ok=(0, 1, 128),
        )
        return done.stdout.decode().strip() if done.returncode == 0 else None

    def commit_info(self, sha: str) -> CommitInfo:
        """Return the commit ``sha`` (which must exist)."""
        return self.log(sha, max_count=1)[0]

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
        if len(self._last_commit_cache) > 50_000:
            self._last_commit_cache.clear()
        if key not in self._last_commit_cache:
            sha = self.out(["log", "-1", "--format=%H", ref_sha, "--", path]).strip()
            self._last_commit_cache[key] = sha or None
        return self._last_commit_cache[key]

    def file_info(self, commit: str, path: str) -> FileInfo | None:
        """Return the blob at ``path`` in ``commit``, or None when absent."""
        text = self.out(["ls-tree", "-l", "-z", commit, "--", path])
        for entry in text.split("\0"):
            if not entry:
                continue
            meta, _, name = entry.partition("\t")
            mode, kind, sha, size = meta.split()
            if name == path and kind == "blob":
                return FileInfo(commit, path, sha, mode, int(size))
        return None

    def read_blob(self, blob_id: str) -> bytes:
        """Return the bytes of a blob."""
        return self.git(["cat-file", "blob", blob_id]).stdout

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
        target = f"{commit}:{path}" if path else f"{commit}^{{tree}}"
        kind = self.git(["cat-file", "-t", target], ok=(0, 1, 128))
        if kind.returncode != 0 or kind.stdout.strip() != b"tree":
            return None
        args = ["ls-tree", "-z"] + (["-r", "-t"] if recursive else []) + [target]
        entries = []
        for line in self.out(args).split("\0"):
            if not line:
                continue
            meta, _, name = line.partition("\t")
            mode, kind_name, sha = meta.split()
            full = f"{path}/{name}" if path else name
            entries.append(
                TreeEntry(sha, full.rsplit("/", 1)[-1], kind_name, full, mode)
            )
        return entries

    def refs(self, prefix: str) -> list[tuple[str, str]]:
        """Return (short name, commit id) for every ref under ``prefix``, by name."""
        text = self.out(
            [
                "for-each-ref",
                "--format=%(refname)%00%(objectname)%00%(*objectname)",
                prefix,
            ]
        )
        found = []
        for line in text.splitlines():
            name, sha, peeled = line.split("\0")
            found.append((name[len(prefix) :], peeled or sha))
        return found

    def branches(self) -> list[tuple[str, str]]:
        """Return (name, head) of every branch, sorted by name."""
        return self.refs("refs/heads/")

    def tags(self) -> list[tuple[str, str]]:
        """Return (name, commit) of every tag, sorted by name."""
        return self.refs("refs/tags/")

    def tag_message(self, tag: str) -> str | None:
        """Return an annotated tag's message, or None for a lightweight tag."""
        kind = self.out(["cat-file", "-t", f"refs/tags/{tag}"]).strip()
        if kind != "tag":
            return None
        return self.out(
            ["for-each-ref", "--format=%(contents)", f"refs/tags/{tag}"]
        ).rstrip("\n")

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
        if not name or name.startswith("-") or name == "HEAD":
            return False
        done = self.git(["check-ref-format", "--branch", name], ok=(0, 1, 128))
        return done.returncode == 0 and "/" not in name[:1]

    def merge_base(self, a: str, b: str) -> str | None:
        """Return the best common ancestor of ``a`` and ``b``, or None."""
        done = self.git(["merge-base", a, b], ok=(0, 1))
        return done.stdout.decode().strip() or None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Tell whether ``ancestor`` is reachable from ``descendant``."""
        done = self.git(
            ["merge-base", "--is-ancestor", ancestor, descendant], ok=(0, 1)
        )
        return done.returncode == 0

    def tree_of(self, commit: str) -> str:
        """Return the tree id of ``commit``."""
        return self.out(["rev-parse", f"{commit}^{{tree}}"]).strip()

    def commit_tree(
        self, tree: str, parents: list[str], message: str, author: Signature
    ) -> str:
        """Write a commit object for ``tree`` and return its id."""
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = {**author.env("AUTHOR"), **author.env("COMMITTER")}
        return self.out(args + ["-F", "-"], input=message.encode(), env=env).strip()
