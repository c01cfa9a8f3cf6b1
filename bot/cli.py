"""Command line: argument parsing and exit statuses.

Every sub-command's behaviour lives in its own module; this file holds the
public contract (names, flags, exit statuses) and one place that turns the
bot's exceptions into exit statuses:

- 0 success; 2 bad input or a policy refusal (one line saying what and
  where); 1 a failure talking to GitLab.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bot import __version__
from bot.errors import GitopsBotError

Runner = Callable[[argparse.Namespace], int]
# Returns what is wrong with a combination of flags, or None.
Check = Callable[[argparse.Namespace], str | None]

# sub-command -> "module:function" taking the parsed arguments, returning
# an exit status. Imported lazily so that `gitops-bot bump` does not pay
# for aiohttp and python-gitlab.
RUNNERS: dict[str, str] = {
    "bump": "bot.manifests.command:run",
    "deploy": "bot.jobs:run_deploy",
    "trigger": "bot.trigger:run_trigger",
    "serve": "bot.server.command:run",
    "check-config": "bot.config:run_check",
    "sandbox": "bot.sandbox.command:run",
    "demo": "bot.demo:run",
}


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every sub-command of ``gitops-bot``."""
    parser = argparse.ArgumentParser(
        prog="gitops-bot",
        description="GitLab merge-request bot for GitOps image promotion.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=CheckedParser
    )

    _add_bump(commands)
    _add_deploy(commands)
    _add_trigger(commands)
    _add_serve(commands)
    _add_check_config(commands)
    _add_sandbox(commands)
    _add_demo(commands)
    return parser


class CheckedParser(argparse.ArgumentParser):
    """A sub-command parser that also runs ``check`` on what it parsed.

    For rules argparse cannot express, such as "one of three flags, of
    which only two may go together"; a problem exits 2 like argparse's own.
    """

    def __init__(self, *args: Any, check: Check | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.check = check

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse as argparse does, then exit 2 when ``check`` finds a problem."""
        parsed, extras = super().parse_known_args(args, namespace)
        problem = self.check(parsed) if self.check else None
        if problem:
            self.error(problem)
        return parsed, extras


def _add_bump(commands: argparse._SubParsersAction) -> None:
    bump = commands.add_parser(
        "bump", help="edit one image reference in a file", check=_bump_target
    )
    bump.add_argument("file", metavar="FILE")
    bump.add_argument("--image", metavar="NAME", help="image name or repository")
    bump.add_argument(
        "--key",
        metavar="DOTTED.PATH",
        help="values key path (with --image: the repository beside it is checked)",
    )
    bump.add_argument("--policy", metavar="NS:NAME", help="Flux image policy")
    bump.add_argument("--tag", metavar="T")
    bump.add_argument("--digest", metavar="D")
    bump.add_argument(
        "--new-name", metavar="REPO", help="kustomize: also set the entry's newName"
    )
    bump.add_argument(
        "--kind",
        default="auto",
        choices=["auto", "kustomize", "helm", "manifest", "argocd", "flux"],
    )
    bump.add_argument(
        "--stdout", action="store_true", help="print the new text, leave FILE"
    )


def _bump_target(args: argparse.Namespace) -> str | None:
    """One of --image, --key, --policy; --image and --key only for Helm values."""
    flags = {"--image": args.image, "--key": args.key, "--policy": args.policy}
    given = [flag for flag, value in flags.items() if value is not None]
    if not given:
        return "one of the arguments --image --key --policy is required"
    if args.policy is not None and len(given) > 1:
        return (
            f"argument --policy: not allowed with argument {given[0]} "
            "(only --image and --key go together, for Helm values)"
        )
    if len(given) == 2 and args.kind not in ("auto", "helm"):
        return (
            f"argument --image: not allowed with argument --key for --kind "
            f"{args.kind} (together they check the repository of a Helm value)"
        )
    return None


def _add_deploy(commands: argparse._SubParsersAction) -> None:
    deploy = commands.add_parser("deploy", help="open or update the deploy MR")
    deploy.add_argument("--app", required=True, metavar="A")
    deploy.add_argument("--env", required=True, metavar="E")
    deploy.add_argument("--tag", metavar="T")
    deploy.add_argument("--digest", metavar="D")
    deploy.add_argument("--config", metavar="F")
    deploy.add_argument("--force", action="store_true", help="allow a rollback")
    deploy.add_argument("--dry-run", action="store_true", help="show the diff only")
    deploy.add_argument("--json", action="store_true", help="print the result")
    deploy.add_argument("--wait", choices=["merged"], help="wait for the merge")
    deploy.add_argument("--timeout", type=_seconds, default=1800.0, metavar="S")


def _add_trigger(commands: argparse._SubParsersAction) -> None:
    trigger = commands.add_parser(
        "trigger", help="call a running bot's deploy API (for service CI)"
    )
    trigger.add_argument("--url", required=True, help="the bot's base URL")
    trigger.add_argument("--app", required=True, metavar="A")
    trigger.add_argument("--env", required=True, metavar="E")
    trigger.add_argument("--tag", metavar="T")
    trigger.add_argument("--digest", metavar="D")
    trigger.add_argument("--force", action="store_true")
    trigger.add_argument("--wait", choices=["merged"])
    trigger.add_argument("--timeout", type=_seconds, default=1800.0, metavar="S")
    trigger.add_argument(
        "--id-token-env",
        default="GITOPS_BOT_ID_TOKEN",
        metavar="VAR",
        help="variable holding the job's ID token (else CI_JOB_TOKEN is used)",
    )


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--config", metavar="F")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=_port_from(1), default=8080)


def _add_check_config(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser("check-config", help="validate the configuration")
    check.add_argument("file", nargs="?", metavar="F")


def _add_sandbox(commands: argparse._SubParsersAction) -> None:
    sandbox = commands.add_parser("sandbox", help="run the offline GitLab")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument(
        "--port", type=_port_from(0), default=8929, help="0: any free port"
    )
    sandbox.add_argument("--data", metavar="DIR", help="keep state here")
    sandbox.add_argument("--root-token", metavar="TOKEN")
    sandbox.add_argument("--tier", choices=["free", "premium"], default="premium")
    sandbox.add_argument(
        "--seed", action="store_true", help="create the demo's world and bot.yaml"
    )


def _add_demo(commands: argparse._SubParsersAction) -> None:
    commands.add_parser("demo", help="a scripted walk-through on the offline GitLab")


def _port_from(lowest: int) -> Callable[[str], int]:
    """An argparse type: a TCP port from ``lowest`` to 65535."""

    def port(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
        if not lowest <= number <= 65535:
            raise argparse.ArgumentTypeError(f"{number} is not in {lowest}-65535")
        return number

    return port


def _seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise argparse.ArgumentTypeError(
            f"must be a positive number of seconds, got {text}"
        )
    return number


def _load_runner(command: str) -> Runner:
    module_name, _, function = RUNNERS[command].partition(":")
    return getattr(importlib.import_module(module_name), function)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gitops-bot``; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _load_runner(args.command)(args)
    except GitopsBotError as error:
        print(f"gitops-bot {args.command}: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        return 130
