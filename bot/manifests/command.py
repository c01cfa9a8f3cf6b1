"""``gitops-bot bump``: edit one file in place, or print it with --stdout."""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from pathlib import Path

from bot.errors import InvalidInput, where_not_utf8
from bot.manifests.engine import edit
from bot.manifests.model import Change, EditResult, Target

EMPTY = '""'


def run(args: argparse.Namespace) -> int:
    """Run the bump described by ``args``; return the exit status (0)."""
    path = Path(args.file)
    text = read_text(path)
    target = Target(kind=args.kind, image=args.image, key=args.key, policy=args.policy)
    result = edit(
        text,
        args.file,
        target,
        tag=args.tag,
        digest=args.digest,
        new_name=args.new_name,
    )

    if args.stdout:
        write_stdout(result.text)
    elif result.changed:
        write_atomically(path, result.text)
    sys.stderr.write(summary(result))
    return 0


def write_stdout(text: str) -> None:
    """Print ``text`` as UTF-8 bytes: no newline translation, any locale."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def read_text(path: Path) -> str:
    """Return the file's text exactly (line endings kept), or raise InvalidInput.

    Anything but a regular file (after a symbolic link) is refused before
    it is opened: reading a FIFO or a device could block or never end.
    """
    try:
        ensure_regular_file(path)
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError as error:
        where = where_not_utf8(error)
        raise InvalidInput(f"{path}: not UTF-8 text ({where})") from None
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read: {error.strerror}") from None


def ensure_regular_file(path: Path) -> None:
    """Raise InvalidInput when ``path`` (followed if a link) is not a regular file.

    Raises OSError (FileNotFoundError...) when it cannot be examined.
    """
    mode = path.stat().st_mode
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise InvalidInput(f"{path}: is a directory, not a file")
    link = "a symbolic link to " if path.is_symlink() else ""
    raise InvalidInput(
        f"{path}: is {link}a {_file_type(mode)}, not a regular file; bump edits "
        "regular files only"
    )


def _file_type(mode: int) -> str:
    types = (
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    )
    return next((name for is_type, name in types if is_type(mode)), "special file")


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` through a temporary file; keep its mode.

    A symbolic link stays a link: the file it points to is replaced, in
    that file's directory. Raise InvalidInput when it cannot be written.
    """
    try:
        _replace_file(path.resolve(strict=True), text)
    except OSError as error:
        raise InvalidInput(f"{path}: cannot write: {error.strerror}") from None


def _replace_file(real: Path, text: str) -> None:
    mode = real.stat().st_mode & 0o7777
    descriptor, temporary = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def summary(result: EditResult) -> str:
    """Return the change summary printed on stderr."""
    lines = [f"skipped: {reason}" for reason in result.skipped]
    if not result.changed:
        lines.append(f"{result.path}: unchanged (already current)")
        return "\n".join(lines) + "\n"

    lines.append(f"{result.path}: changed")
    lines.extend(
        f"  line {change.line}: {describe(change)}" for change in result.changes
    )
    return "\n".join(lines) + "\n"


def describe(change: Change) -> str:
    """Return one change as ``old -> new``, ``added new`` or ``removed old``."""
    if change.action == "add":
        return f"added {change.new}"
    if change.action == "remove":
        return f"removed {change.old}"
    return f"{change.old or EMPTY} -> {change.new or EMPTY}"
