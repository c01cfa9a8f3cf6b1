"""The shell executor: a job's script runs for real in a checkout of its commit.

Each job gets a fresh directory filled by ``git archive`` of the pipeline's
commit, then ``bash -eo pipefail`` runs ``before_script`` and ``script``
(each command echoed as ``$ command``, as the runner does), then
``after_script`` whose failure does not change the result. Output goes to
the job log as it comes, with masked values replaced by ``[MASKED]``. A job
past its timeout is killed with its process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shlex
import shutil
import signal
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.sandbox.git import run_git

CHUNK_BYTES = 4096
MASK = "[MASKED]"


@dataclass(frozen=True)
class JobRun:
    """Everything one run of a job needs."""

    git_dir: Path
    sha: str
    env: dict[str, str]
    script: tuple[str, ...]
    before_script: tuple[str, ...] = ()
    after_script: tuple[str, ...] = ()
    timeout: float = 3600.0
    masked: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    """How a run ended."""

    status: str  # "success" | "failed"
    failure_reason: str | None = None
    exit_code: int | None = None


def shell_script(commands: tuple[str, ...]) -> str:
    """A bash script that echoes then runs each command."""
    lines = ["set -eo pipefail"]
    for command in commands:
        lines.append("printf '%s\\n' " + shlex.quote(f"$ {command}"))
        lines.append(command)
    return "\n".join(lines) + "\n"


def mask(text: str, secrets: tuple[str, ...]) -> str:
    """Replace every masked value in ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def checkout(git_dir: Path, sha: str, into: Path) -> None:
    """Write the tree of ``sha`` into the directory ``into``."""
    archive = run_git(git_dir, ["archive", "--format=tar", sha]).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


async def execute(run: JobRun, write: Callable[[str], None]) -> RunResult:
    """Run ``run`` in a temporary checkout; ``write`` receives the log."""
    workspace = Path(tempfile.mkdtemp(prefix="sandbox-job-"))
    try:
        build = workspace / "build"
        await asyncio.to_thread(checkout, run.git_dir, run.sha, build)
        env = _environment(run, workspace, build)
        write(f"Checking out {run.sha[:8]} as detached HEAD\n")
        write('Executing "step_script" stage of the job script\n')
        code = await _shell(run, run.before_script + run.script, env, build, write)
        if run.after_script:
            write("Running after_script\n")
            await _shell(run, run.after_script, env, build, write)
        return _outcome(code, run.timeout, write)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _environment(run: JobRun, workspace: Path, build: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(workspace),
        "LANG": "C.UTF-8",
        "TMPDIR": str(workspace),
        "CI_PROJECT_DIR": str(build),
        "CI_BUILDS_DIR": str(workspace),
        **run.env,
    }
    for name, content in run.files.items():
        path = workspace / f"variable-{name}"
        path.write_text(content)
        env[name] = str(path)
    return env


async def _shell(
    run: JobRun,
    commands: tuple[str, ...],
    env: dict[str, str],
    cwd: Path,
    write: Callable[[str], None],
) -> int | None:
    """Run ``commands``; return the exit code, or None after a timeout."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        "--noprofile",
        "--norc",
        "-eo",
        "pipefail",
        "-c",
        shell_script(commands),
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        await asyncio.wait_for(_pump(process, run, write), run.timeout)
    except TimeoutError:
        _kill(process)
        await process.wait()
        return None
    except asyncio.CancelledError:
        _kill(process)
        raise
    return process.returncode or 0


async def _pump(
    process: asyncio.subprocess.Process, run: JobRun, write: Callable[[str], None]
) -> None:
    assert process.stdout is not None
    while chunk := await process.stdout.read(CHUNK_BYTES):
        write(mask(chunk.decode(errors="replace"), run.masked))
    await process.wait()


def _outcome(
    code: int | None, timeout: float, write: Callable[[str], None]
) -> RunResult:
    if code is None:
        write(f"ERROR: Job failed: execution took longer than {timeout:g}s\n")
        return RunResult("failed", "job_execution_timeout")
    if code == 0:
        write("Job succeeded\n")
        return RunResult("success", exit_code=0)
    write(f"ERROR: Job failed: exit code {code}\n")
    return RunResult("failed", "script_failure", code)


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
