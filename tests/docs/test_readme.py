"""README.md stays true: its commands parse and run, its references are complete.

Every ``gitops-bot`` invocation in a fenced ``sh`` or ``console`` block must
be accepted by the real parser (``bot.cli.build_parser``); the cheap ones
(``check-config``, ``bump --stdout``, ``--help``) are run in a subprocess and
must exit 0. The reference sections must name every configuration key,
every metric family, every comment command and every sub-command that the
code defines today, so that a new feature without documentation fails here.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.chatops.grammar import COMMANDS
from bot.cli import RUNNERS, build_parser
from bot.config.model import Config
from bot.server.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SETUP_COMMANDS = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' "
    "&& gitops-bot demo",
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' "
    "&& python -m pytest -q",
)
SHELL_LANGUAGES = ("sh", "console")
# Words that end one command on a shell line.
SEPARATORS = frozenset({"&&", "||", "|", ";", "&"})
FENCE = re.compile(r"^```(\S*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Metric families registered without labels never print a sample line, and
# counters get ``_total`` appended by the client library.
COUNTER_SUFFIX = "_total"


def readme_text() -> str:
    """The README as it is in the working tree."""
    return README.read_text(encoding="utf-8")


def shell_blocks(text: str) -> list[str]:
    """Bodies of the fenced blocks whose language is ``sh`` or ``console``."""
    return [body for lang, body in FENCE.findall(text) if lang in SHELL_LANGUAGES]


def shell_lines(block: str) -> Iterator[str]:
    """Command lines of a block: continuations joined, comments and output off.

    In a ``console`` block only lines starting with ``$ `` are commands.
    """
    joined = block.replace("\\\n", " ")
    console = any(line.startswith("$ ") for line in joined.splitlines())
    for line in joined.splitlines():
        if console and not line.startswith("$ "):
            continue
        line = line.removeprefix("$ ").strip()
        if line and not line.startswith("#"):
            yield line


def invocations(line: str) -> Iterator[list[str]]:
    """The argument lists of each ``gitops-bot`` command on a shell line."""
    words = shlex.split(line, comments=True)
    for index, word in enumerate(words):
        if word != "gitops-bot":
            continue
        args: list[str] = []
        for arg in words[index + 1 :]:
            if arg in SEPARATORS or arg.startswith((">", "2>", "<")):
                break
            args.append(arg)
        yield args


def readme_invocations() -> list[list[str]]:
    """Every ``gitops-bot`` invocation shown in the README's shell blocks."""
    return [
        args
        for block in shell_blocks(readme_text())
        for line in shell_lines(block)
        for args in invocations(line)
    ]


def parse(args: list[str]) -> argparse.Namespace | None:
    """Parse ``args`` with the real parser; None when it printed help and left.

    Raises ``AssertionError`` with argparse's complaint when it refuses them.
    """
    errors, ignored = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(ignored):
            return build_parser().parse_args(args)
    except SystemExit as leaving:
        assert leaving.code == 0, f"gitops-bot {shlex.join(args)}: {errors.getvalue()}"
        return None


def is_cheap(args: list[str]) -> bool:
    """Whether running ``args`` needs no GitLab, no server and no file write."""
    if "--help" in args or "-h" in args or "--version" in args:
        return True
    if args[:1] == ["check-config"]:
        return True
    return args[:1] == ["bump"] and "--stdout" in args


def run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``gitops-bot args`` from the repository root, as a reader would."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def config_keys(model: type[BaseModel]) -> set[str]:
    """Every key name a configuration section accepts, nested ones included."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        keys.add(name)
        for nested in _models_in(field.annotation):
            keys |= config_keys(nested)
    return keys


def _models_in(annotation: object) -> Iterator[type[BaseModel]]:
    """Pydantic models named anywhere inside a type annotation."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for argument in getattr(annotation, "__args__", ()) or ():
        yield from _models_in(argument)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and origin is not annotation:
        yield from _models_in(origin)


def metric_names() -> set[str]:
    """The exported names of every metric family of a fresh server."""
    names = set()
    for family in Metrics().registry.collect():
        suffix = COUNTER_SUFFIX if family.type == "counter" else ""
        names.add(family.name + suffix)
    return names


INVOCATIONS = readme_invocations()
CHEAP = [args for args in INVOCATIONS if is_cheap(args)]


def test_setup_commands_come_first_and_unchanged() -> None:
    """The README opens with the two set-up commands, exactly as agreed."""
    first = shell_blocks(readme_text())[0]

    assert tuple(first.strip().splitlines()) == SETUP_COMMANDS


def test_readme_shows_commands() -> None:
    """The extraction finds the tour's commands (an empty list would pass all)."""
    shown = {args[0] for args in INVOCATIONS if args}

    assert {"demo", "sandbox", "bump", "check-config", "deploy", "trigger"} <= shown
    assert any(args[:1] == ["check-config"] for args in CHEAP)
    assert any(args[:1] == ["bump"] for args in CHEAP)


@pytest.mark.parametrize("args", INVOCATIONS, ids=shlex.join)
def test_every_invocation_parses(args: list[str]) -> None:
    """Each ``gitops-bot`` command in the README is accepted by bot/cli.py."""
    namespace = parse(args)

    assert namespace is None or namespace.command in RUNNERS


@pytest.mark.parametrize("args", CHEAP, ids=shlex.join)
def test_cheap_invocations_run(args: list[str]) -> None:
    """The commands that need no GitLab run as shown and exit 0."""
    before = {path: path.read_bytes() for path in _files_named(args)}

    done = run_cli(args)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the command printed nothing"
    assert {path: path.read_bytes() for path in before} == before


def test_help_runs_for_every_sub_command() -> None:
    """``gitops-bot <command> --help`` exits 0 for each documented sub-command."""
    for command in RUNNERS:
        done = run_cli([command, "--help"])

        assert done.returncode == 0, done.stderr
        assert command in done.stdout


def test_bump_stdout_prints_the_edit() -> None:
    """The tour's Helm example prints the new tag and leaves the file alone."""
    (args,) = [a for a in CHEAP if a[:1] == ["bump"] and "--key" in a]
    path = ROOT / args[1]
    original = path.read_text(encoding="utf-8")

    done = run_cli(args)

    tag = args[args.index("--tag") + 1]
    assert f'tag: "{tag}"' in done.stdout or f"tag: {tag}" in done.stdout
    assert "changed" in done.stderr
    assert path.read_text(encoding="utf-8") == original


def test_every_config_key_is_documented() -> None:
    """The configuration reference names every key of bot/config/model.py."""
    text = readme_text()

    missing = sorted(key for key in config_keys(Config) if not _names_key(text, key))

    assert not missing, f"keys missing from README.md: {missing}"


def test_every_metric_is_documented() -> None:
    """The metrics table names every family the server exports."""
    text = readme_text()

    missing = sorted(name for name in metric_names() if f"`{name}`" not in text)

    assert not missing, f"metrics missing from README.md: {missing}"


def test_every_comment_command_is_documented() -> None:
    """The comment command table shows every command of the grammar."""
    text = readme_text()

    missing = [spec.name for spec in COMMANDS if f"`/gitops {spec.name}" not in text]

    assert not missing, f"commands missing from README.md: {missing}"


def test_every_sub_command_is_documented() -> None:
    """Each sub-command of bot/cli.py appears as ``gitops-bot <command>``."""
    text = readme_text()

    missing = [name for name in RUNNERS if f"gitops-bot {name}" not in text]

    assert not missing, f"sub-commands missing from README.md: {missing}"


def test_extraction_handles_shell_syntax() -> None:
    """Continuations, prompts, comments and operators end up as expected."""
    block = (
        "$ gitops-bot bump f.yaml \\\n  --tag 1 --image x --stdout > out.yaml\n"
        "output line\n$ echo hi && gitops-bot check-config c.yaml  # check\n"
    )

    found = [args for line in shell_lines(block) for args in invocations(line)]

    assert found == [
        ["bump", "f.yaml", "--tag", "1", "--image", "x", "--stdout"],
        ["check-config", "c.yaml"],
    ]


def test_parse_reports_a_refused_flag() -> None:
    """A flag bot/cli.py does not know fails the check with argparse's message."""
    with pytest.raises(AssertionError, match="unrecognized arguments: --nope"):
        parse(["check-config", "--nope"])


def _names_key(text: str, key: str) -> bool:
    """Whether ``text`` shows ``key`` in code as one part of a dotted path
    (``key``, ``approvals.key``, ``key.<name>``, ``key[].path``)."""
    part = r"[\w<>]+(?:\[\])?"
    pattern = rf"`(?:{part}\.)*{re.escape(key)}(?:\[\])?(?:\.{part})*`"
    return re.search(pattern, text) is not None


def _files_named(args: list[str]) -> list[Path]:
    """Existing files among ``args``, to check that a run left them alone."""
    return [ROOT / arg for arg in args if (ROOT / arg).is_file()]
