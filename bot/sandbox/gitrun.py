"""Running git: the one command runner, its environment, and the values
(signatures, commits, tree entries, files) the repository layer returns."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.sandbox.gitobjects import is_object_id

ZERO_SHA = "0" * 40
TIMEOUT_SECONDS = 60.0
FIELD, RECORD = "\x1f", "\x1e"
LOG_FORMAT = FIELD.join(["%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"])
LOG_FORMAT += RECORD
TREE, SUBMODULE = "040000", "160000"
LAST_COMMIT_CACHE_LIMIT = 50_000

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
        return {
            f"GIT_{role}_NAME": self.name,
            f"GIT_{role}_EMAIL": self.email,
            f"GIT_{role}_DATE": f"{int(self.when.timestamp())} +0000",
        }


@dataclass(frozen=True)
class CommitInfo:
    """A commit: ids, people, dates and message."""

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


def git_env(git_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment every git call runs with."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **BASE_ENV}
    env["GIT_DIR"] = str(git_dir)
    env.update(extra or {})
    return env


def run_git(
    git_dir: Path,
    args: list[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git args`` against ``git_dir``; raise GitFailed on other statuses."""
    done = subprocess.run(
        ["git", *args],
        input=input,
        capture_output=True,
        env=git_env(git_dir, env),
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


def ident(text: str) -> str:
    """Strip what would break a commit header line, as git does."""
    return " ".join(text.replace("<", "").replace(">", "").split())


def is_full_sha(text: str) -> bool:
    """Tell whether ``text`` is a 40-digit hexadecimal object id."""
    return is_object_id(text)
