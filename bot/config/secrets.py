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


@dataclass(frozen=True)
class ServerSecrets:
    """Every secret ``gitops-bot serve`` needs, read at once."""

    gitlab_token: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    static_tokens: tuple[StaticTokenValue, ...]


@dataclass(frozen=True)
class _Wanted:
    """A variable that must hold a secret, and the key that names it."""

    variable: str
    key: str
    purpose: str


def read_gitlab_token(config: Config, environ: Mapping[str, str] | None = None) -> str:
    """The GitLab access token, from the variable ``gitlab.token_env`` names."""
    wanted = _gitlab_token(config)
    return _read_all(environ, [wanted])[wanted.variable]


def read_webhook_secret(
    config: Config, environ: Mapping[str, str] | None = None
) -> str:
    """The webhook secret, from ``server.webhook_secret_env``'s variable."""
    wanted = _webhook_secret(config)
    return _read_all(environ, [wanted])[wanted.variable]


def read_static_tokens(
    config: Config, environ: Mapping[str, str] | None = None
) -> tuple[StaticTokenValue, ...]:
    """Every static token of ``server.static_tokens``; all must be set."""
    wanted = _static_tokens(config)
    values = _read_all(environ, wanted)
    return _static_values(config, wanted, values)


def read_server_secrets(
    config: Config, environ: Mapping[str, str] | None = None
) -> ServerSecrets:
    """The GitLab token, webhook secret and static tokens; one ``MissingSecret``
    names every variable that is unset or empty."""
    gitlab, hook = _gitlab_token(config), _webhook_secret(config)
    statics = _static_tokens(config)
    values = _read_all(environ, [gitlab, hook, *statics])

    return ServerSecrets(
        gitlab_token=values[gitlab.variable],
        webhook_secret=values[hook.variable],
        static_tokens=_static_values(config, statics, values),
    )


def _gitlab_token(config: Config) -> _Wanted:
    return _Wanted(config.gitlab.token_env, "gitlab.token_env", "GitLab token")


def _webhook_secret(config: Config) -> _Wanted:
    variable = config.server.webhook_secret_env
    return _Wanted(variable, "server.webhook_secret_env", "webhook secret")


def _static_tokens(config: Config) -> list[_Wanted]:
    return [
        _Wanted(
            entry.token_env,
            f"server.static_tokens[{index}].token_env",
            f"static token of {entry.project}",
        )
        for index, entry in enumerate(config.server.static_tokens)
    ]


def _static_values(
    config: Config, wanted: list[_Wanted], values: Mapping[str, str]
) -> tuple[StaticTokenValue, ...]:
    entries = config.server.static_tokens
    return tuple(
        StaticTokenValue(entry.project, values[one.variable])
        for entry, one in zip(entries, wanted, strict=True)
    )


def _read_all(
    environ: Mapping[str, str] | None, wanted: list[_Wanted]
) -> dict[str, str]:
    """The value of each wanted variable; refuse every unset one at once."""
    environ = os.environ if environ is None else environ
    missing: dict[str, _Wanted] = {}
    for one in wanted:
        if not environ.get(one.variable, "").strip():
            missing.setdefault(one.variable, one)
    if missing:
        raise MissingSecret(_missing_message(list(missing.values())))
    return {one.variable: environ[one.variable] for one in wanted}


def _missing_message(missing: list[_Wanted]) -> str:
    """Name each variable and what it must hold; never a value."""
    if len(missing) == 1:
        [one] = missing
        return (
            f"environment variable {one.variable} is not set or empty; it must "
            f"hold the {one.purpose} ({one.key} names it)"
        )
    listed = "; ".join(
        f"{one.variable} (the {one.purpose}, named by {one.key})" for one in missing
    )
    return f"{len(missing)} environment variables are not set or empty: {listed}"
