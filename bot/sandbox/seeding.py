"""``gitops-bot sandbox --seed``: the demo's world, and how to point the bot at it.

The world is ``bot.demo.seed``'s (people gitops-bot, alice, bob and dave with
tokens; groups platform, platform/sre and my-org; projects platform/gitops
and my-org/my-app). On top of it: the bot's configuration in the data
directory, and a webhook on platform/gitops to the bot's URL with a fresh
secret. The sandbox is a local toy, so the tokens it generated are printed
as ``export`` lines; nothing here is a real credential.
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

from bot.demo.seed import add_bot_webhook, bot_config, seed
from bot.errors import InvalidInput

CONFIG_NAME = "bot.yaml"
BOT_HOST, BOT_PORT = "127.0.0.1", 8080
BOT_URL = f"http://{BOT_HOST}:{BOT_PORT}"
TOKEN_VARIABLE = "GITOPS_BOT_DEMO_TOKEN"
SECRET_VARIABLE = "GITOPS_BOT_DEMO_WEBHOOK_SECRET"
PEOPLE = ("alice", "bob", "dave")


class AlreadySeeded(InvalidInput):
    """The data directory holds a seeded world from an earlier run."""


@dataclass(frozen=True)
class Seeded:
    """What a user needs to start the bot against the seeded sandbox."""

    config_path: Path
    variables: dict[str, str]

    def lines(self) -> list[str]:
        """The text printed after the sandbox's own line."""
        exports = [
            f"export {name}={shlex.quote(value)}"
            for name, value in self.variables.items()
        ]
        config = shlex.quote(str(self.config_path))
        return [
            "Seeded: platform/gitops (webhook to "
            f"{BOT_URL}/webhooks/gitlab), my-org/my-app; users gitops-bot, "
            f"{', '.join(PEOPLE)}",
            f"Bot configuration: {self.config_path}",
            "In another shell:",
            *(f"  {line}" for line in exports),
            f"  gitops-bot serve --config {config} --host {BOT_HOST} --port {BOT_PORT}",
        ]


def ensure_not_seeded(data_dir: Path) -> None:
    """Refuse to seed a data directory seeded before (its users exist)."""
    path = data_dir / CONFIG_NAME
    if path.exists():
        raise AlreadySeeded(
            f"{path} exists: this data directory is seeded already; run "
            "without --seed to reuse it, or give a new --data directory"
        )


async def seed_sandbox(url: str, root_token: str, data_dir: Path) -> Seeded:
    """Create the demo's world, its webhook and the bot's configuration file."""
    ensure_not_seeded(data_dir)
    world = await asyncio.to_thread(seed, url, root_token, BOT_URL)

    secret = secrets.token_urlsafe(16)
    await asyncio.to_thread(add_bot_webhook, world.gitops, BOT_URL, secret)

    path = data_dir / CONFIG_NAME
    path.write_text(bot_config(url), encoding="utf-8")
    variables = {
        TOKEN_VARIABLE: world.tokens["gitops-bot"],
        SECRET_VARIABLE: secret,
        "GITLAB_URL": url,
        "GITLAB_ROOT_TOKEN": root_token,
        **{f"{name.upper()}_TOKEN": world.tokens[name] for name in PEOPLE},
    }
    return Seeded(path, variables)
