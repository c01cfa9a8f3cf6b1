"""Configuration: schema, loading, validation with file:line errors, secrets.

Which file is read, first match wins:

1. the path given explicitly (``--config F``, ``check-config F``);
2. the ``GITOPS_BOT_CONFIG`` environment variable;
3. ``./config/bot.yaml``.

``GITOPS_BOT_GITLAB_URL`` overrides ``gitlab.url``. Secrets never live in the
file: it names environment variables (``gitlab.token_env``,
``server.webhook_secret_env``, ``server.static_tokens[].token_env``) and
``read_gitlab_token`` and friends read them. The result is a frozen
``Config``, loaded once at start and passed explicitly.
"""

from __future__ import annotations

from bot.config.check import run_check
from bot.config.load import (
    CONFIG_VARIABLE,
    DEFAULT_PATH,
    URL_VARIABLE,
    config_path,
    load_config,
    parse_config,
)
from bot.config.model import (
    COMMANDS,
    KINDS,
    AppConfig,
    ApprovalsConfig,
    Config,
    EnvironmentConfig,
    GitLabConfig,
    ManifestConfig,
    ServerConfig,
    StaticToken,
    TemplatesConfig,
    UnknownName,
    Window,
    default_command_levels,
)
from bot.config.problems import ConfigError
from bot.config.secrets import (
    MissingSecret,
    StaticTokenValue,
    read_gitlab_token,
    read_static_tokens,
    read_webhook_secret,
)

__all__ = [
    "COMMANDS",
    "CONFIG_VARIABLE",
    "DEFAULT_PATH",
    "KINDS",
    "URL_VARIABLE",
    "AppConfig",
    "ApprovalsConfig",
    "Config",
    "ConfigError",
    "EnvironmentConfig",
    "GitLabConfig",
    "ManifestConfig",
    "MissingSecret",
    "ServerConfig",
    "StaticToken",
    "StaticTokenValue",
    "TemplatesConfig",
    "UnknownName",
    "Window",
    "config_path",
    "default_command_levels",
    "load_config",
    "parse_config",
    "read_gitlab_token",
    "read_static_tokens",
    "read_webhook_secret",
    "run_check",
]
