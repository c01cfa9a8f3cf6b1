"""Secrets come from the variables the configuration names, never the file."""

from __future__ import annotations

import pytest

from bot.config import (
    MissingSecret,
    StaticTokenValue,
    parse_config,
    read_gitlab_token,
    read_static_tokens,
    read_webhook_secret,
)
from bot.config.secrets import read_server_secrets
from tests.config.documents import top_doc

CONFIG = parse_config(
    top_doc(
        "  token_env: GITOPS_TOKEN\n"
        "server:\n"
        "  webhook_secret_env: HOOK_SECRET\n"
        "  static_tokens:\n"
        "    - {project: shop/web, token_env: WEB_DEPLOY_TOKEN}\n"
        "    - {project: shop/api, token_env: API_DEPLOY_TOKEN}\n"
    ),
    environ={},
)
FULL = {
    "GITOPS_TOKEN": "glpat-secret-1",
    "HOOK_SECRET": "hook-secret-2",
    "WEB_DEPLOY_TOKEN": "web-secret-3",
    "API_DEPLOY_TOKEN": "api-secret-4",
}


def test_secrets_are_read_from_the_named_variables() -> None:
    """Each reader returns the value of the variable its key names."""
    assert read_gitlab_token(CONFIG, FULL) == "glpat-secret-1"
    assert read_webhook_secret(CONFIG, FULL) == "hook-secret-2"
    assert read_static_tokens(CONFIG, FULL) == (
        StaticTokenValue("shop/web", "web-secret-3"),
        StaticTokenValue("shop/api", "api-secret-4"),
    )


def test_static_token_repr_hides_the_token() -> None:
    """A static token printed or logged by accident does not show its value."""
    (web, _) = read_static_tokens(CONFIG, FULL)
    assert "web-secret-3" not in repr(web)


@pytest.mark.parametrize(
    ("variable", "value", "read", "message"),
    [
        (
            "GITOPS_TOKEN",
            None,
            read_gitlab_token,
            "environment variable GITOPS_TOKEN is not set or empty; it must hold "
            "the GitLab token (gitlab.token_env names it)",
        ),
        (
            "HOOK_SECRET",
            "  ",
            read_webhook_secret,
            "environment variable HOOK_SECRET is not set or empty; it must hold "
            "the webhook secret (server.webhook_secret_env names it)",
        ),
        (
            "API_DEPLOY_TOKEN",
            "",
            read_static_tokens,
            "environment variable API_DEPLOY_TOKEN is not set or empty; it must "
            "hold the static token of shop/api (server.static_tokens[1].token_env "
            "names it)",
        ),
    ],
)
def test_missing_secret_names_the_variable(
    variable: str, value: str | None, read, message: str
) -> None:
    """An unset or blank variable raises MissingSecret naming it, no values."""
    environ = {key: val for key, val in FULL.items() if key != variable}
    if value is not None:
        environ[variable] = value

    with pytest.raises(MissingSecret) as caught:
        read(CONFIG, environ)

    assert str(caught.value) == message
    assert not any(secret in str(caught.value) for secret in FULL.values())
    assert caught.value.exit_status == 2


def test_server_secrets_are_read_at_once() -> None:
    """The server's secrets in one value, its tokens hidden from repr."""
    secrets = read_server_secrets(CONFIG, FULL)

    assert (secrets.gitlab_token, secrets.webhook_secret) == (
        "glpat-secret-1",
        "hook-secret-2",
    )
    assert [token.project for token in secrets.static_tokens] == [
        "shop/web",
        "shop/api",
    ]
    assert not any(secret in repr(secrets) for secret in FULL.values())


def test_every_missing_server_secret_is_named_at_once() -> None:
    """Three unset variables: one MissingSecret naming all three, no values."""
    environ = {"WEB_DEPLOY_TOKEN": "web-secret-3", "HOOK_SECRET": " "}

    with pytest.raises(MissingSecret) as caught:
        read_server_secrets(CONFIG, environ)

    assert str(caught.value) == (
        "3 environment variables are not set or empty: "
        "GITOPS_TOKEN (the GitLab token, named by gitlab.token_env); "
        "HOOK_SECRET (the webhook secret, named by server.webhook_secret_env); "
        "API_DEPLOY_TOKEN (the static token of shop/api, named by "
        "server.static_tokens[1].token_env)"
    )
    assert "web-secret-3" not in str(caught.value)


def test_a_variable_named_twice_is_listed_once() -> None:
    """Two static tokens in one unset variable: it is named once."""
    config = parse_config(
        top_doc(
            "server:\n"
            "  static_tokens:\n"
            "    - {project: shop/web, token_env: SHARED_TOKEN}\n"
            "    - {project: shop/api, token_env: SHARED_TOKEN}\n"
        ),
        environ={},
    )
    environ = {"GITLAB_TOKEN": "t", "GITOPS_BOT_WEBHOOK_SECRET": "w"}

    with pytest.raises(MissingSecret) as caught:
        read_static_tokens(config, environ)

    assert str(caught.value) == (
        "environment variable SHARED_TOKEN is not set or empty; it must hold "
        "the static token of shop/web (server.static_tokens[0].token_env names it)"
    )


def test_default_variable_names() -> None:
    """Without *_env keys, GITLAB_TOKEN and GITOPS_BOT_WEBHOOK_SECRET are read."""
    config = parse_config(top_doc(""), environ={})
    environ = {"GITLAB_TOKEN": "t", "GITOPS_BOT_WEBHOOK_SECRET": "w"}

    assert read_gitlab_token(config, environ) == "t"
    assert read_webhook_secret(config, environ) == "w"
    assert read_static_tokens(config, environ) == ()


def test_readers_default_to_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without an explicit mapping, os.environ is read at call time."""
    monkeypatch.setenv("GITOPS_TOKEN", "from-process")
    assert read_gitlab_token(CONFIG) == "from-process"
