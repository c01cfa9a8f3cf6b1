"""Fast reads of a bare repository without a process per call.

Objects are immutable, so one long-lived ``git cat-file --batch`` per
repository serves every object read; refs are NOT read through it (a
long-lived process may cache them) but from the ref files themselves.
Blobs are written as loose objects directly, exactly as git stores them.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

HEX = frozenset("0123456789abcdef")


def is_object_id(text: str) -> bool:
    """Tell whether ``text`` is a full 40-digit lowercase object id."""
    return len(text) == 40 and set(text) <= HEX


@dataclass(frozen=True)
class RawCommit:
    """The fields of a commit object."""

    tree: str
    parents: tuple[str, ...]
    author: tuple[str, str, datetime]
    committer: tuple[str, str, datetime]
    message: str


def _person(line: str) -> tuple[str, str, datetime]:
    name, _, rest = line.partition(" <")
    email, _, stamp = rest.partition("> ")
    seconds, _, offset = stamp.partition(" ")
    sign = -1 if offset.startswith("-") else 1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    return name, email, datetime.fromtimestamp(int(seconds), zone).astimezone(UTC)


def parse_commit(data: bytes) -> RawCommit:
    """Parse a raw commit object."""
    head, _, message = data.decode("utf-8", errors="replace").partition("\n\n")
    tree, parents = "", []
    author = committer = ("", "", datetime.fromtimestamp(0, UTC))
    for line in head.split("\n"):
        key, _, value = line.partition(" ")
        if key == "tree":
            tree = value
        elif key == "parent":
            parents.append(value)
        elif key == "author":
            author = _person(value)
        elif key == "committer":
            committer = _person(value)
    return RawCommit(tree, tuple(parents), author, committer, message.rstrip("\n"))


def parse_tree(data: bytes) -> list[tuple[str, str, str]]:
    """Parse a raw tree object into (mode, name, object id) in git's order."""
    entries, position = [], 0
    while position < len(data):
        space = data.index(b" ", position)
        nul = data.index(b"\0", space)
        mode = data[position:space].decode()
        name = data[space + 1 : nul].decode("utf-8", errors="surrogateescape")
        sha = data[nul + 1 : nul + 21].hex()
        entries.append((mode.rjust(6, "0"), name, sha))
        position = nul + 21
    return entries


class ObjectReader:
    """One ``git cat-file --batch`` process answering object reads by id."""

    def __init__(self, git_dir: Path, env: dict[str, str]) -> None:
        self.git_dir = git_dir
        self.env = env
        self._process: subprocess.Popen[bytes] | None = None

    def read(self, object_id: str) -> tuple[str, bytes] | None:
        """Return (type, content) of an object, or None when it is absent."""
        if not is_object_id(object_id):
            return None
        process = self._ensure()
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(object_id.encode() + b"\n")
        process.stdin.flush()
        header = process.stdout.readline().split()
        if len(header) != 3:
            return None
        data = process.stdout.read(int(header[2]))
        process.stdout.read(1)
        return header[1].decode(), data

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self.env,
            )
        return self._process

    def close(self) -> None:
        """Stop the process."""
        if self._process is not None:
            if self._process.stdin:
                self._process.stdin.close()
            self._process.wait(timeout=10)
            if self._process.stdout:
                self._process.stdout.close()
            self._process = None


def blob_id(content: bytes) -> str:
    """Return the object id git gives ``content`` as a blob."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def write_loose_blob(git_dir: Path, content: bytes) -> str:
    """Store ``content`` as a loose blob (as ``hash-object -w``); return its id."""
    return write_loose_object(git_dir, "blob", content)


def write_loose_object(git_dir: Path, kind: str, content: bytes) -> str:
    """Store an object of ``kind`` as git does (zlib, by id); return its id."""
    raw = kind.encode() + b" %d\0" % len(content) + content
    object_id = hashlib.sha1(raw).hexdigest()
    folder = git_dir / "objects" / object_id[:2]
    target = folder / object_id[2:]
    if target.exists():
        return object_id
    folder.mkdir(exist_ok=True)
    # A private temporary name, then an atomic rename, as git does.
    temporary = folder / f"tmp_obj_{object_id[2:]}_{os.getpid()}_{id(raw)}"
    temporary.write_bytes(zlib.compress(raw, 1))
    os.replace(temporary, target)
    return object_id


def _safe_ref_path(git_dir: Path, ref: str) -> Path | None:
    parts = ref.split("/")
    if not ref.startswith("refs/") and ref != "HEAD":
        return None
    if any(part in ("", ".", "..") for part in parts) or "\0" in ref or "\\" in ref:
        return None
    return git_dir.joinpath(*parts)


def read_ref(git_dir: Path, ref: str, depth: int = 0) -> str | None:
    """Return the object id ``ref`` names (following symbolic refs), or None."""
    path = _safe_ref_path(git_dir, ref)
    if path is None or depth > 5:
        return None
    if path.is_file():
        value = path.read_text().strip()
        if value.startswith("ref: "):
            return read_ref(git_dir, value[5:], depth + 1)
        return value if is_object_id(value) else None
    for name, object_id in packed_refs(git_dir):
        if name == ref:
            return object_id
    return None


def packed_refs(git_dir: Path) -> list[tuple[str, str]]:
    """Return (ref, object id) pairs from packed-refs (usually none here)."""
    path = git_dir / "packed-refs"
    if not path.exists():
        return []
    pairs = []
    for line in path.read_text().splitlines():
        if line and line[0] not in "#^":
            object_id, _, name = line.partition(" ")
            pairs.append((name, object_id))
    return pairs


def list_refs(git_dir: Path, prefix: str) -> list[tuple[str, str]]:
    """Return (short name, object id) of refs under ``prefix``, sorted by name."""
    found = {name: sha for name, sha in packed_refs(git_dir) if name.startswith(prefix)}
    root = git_dir / prefix.rstrip("/")
    for folder, _, files in os.walk(root):
        for file in files:
            if file.endswith(".lock"):
                continue
            full = Path(folder, file)
            name = full.relative_to(git_dir).as_posix()
            value = full.read_text().strip()
            if is_object_id(value):
                found[name] = value
    return sorted((name[len(prefix) :], sha) for name, sha in found.items())
