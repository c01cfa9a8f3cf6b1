"""Secrets, read from the environment variables the configuration names.

The file only ever holds variable names. Errors name the variable and the
key that names it, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.config.model import Config
from bot.errors import InvalidInput


class MissingSecret(InvalidInput):
    """An environment variable that should hold a secret is unset or empty."""


@dataclass(frozen=True)
class StaticTokenValue:
    """A static deploy token and the project it authenticates."""

    project: str
    token: str = field(repr=False)


def read_gitlab_token(config: Config, environ: Mapping[str, str] | None = None) -> str:
    """The GitLab access token, from the variable ``gitlab.token_env`` names."""
    return _read(environ, config.gitlab.token_env, "gitlab.token_env", "GitLab token")


def read_webhook_secret(
    config: Config, environ: Mapping[str, str] | None = None
) -> str:
    """The webhook secret, from ``server.webhook_secret_env``'s variable."""
    variable = config.server.webhook_secret_env
    return _read(environ, variable, "server.webhook_secret_env", "webhook secret")


def read_static_tokens(
    config: Config, environ: Mapping[str, str] | None = None
) -> tuple[StaticTokenValue, ...]:
    """Every static token of ``server.static_tokens``; all must be set."""
    return tuple(
        StaticTokenValue(
            entry.project,
            _read(
                environ,
                entry.token_env,
                f"server.static_tokens[{index}].token_env",
                f"static token of {entry.project}",
            ),
        )
        for index, entry in enumerate(config.server.static_tokens)
    )


def _read(
    environ: Mapping[str, str] | None, variable: str, key: str, purpose: str
) -> str:
    environ = os.environ if environ is None else environ
    value = environ.get(variable, "")
    if not value.strip():
        raise MissingSecret(
            f"environment variable {variable} is not set or empty; it must hold "
            f"the {purpose} ({key} names it)"
        )
    return value
