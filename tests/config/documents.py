"""Small configuration documents whose line numbers a test can rely on.

Each builder writes a valid document and puts the keys under test at a
known line, so that a table row can state the exact ``file:line`` expected.
"""

from __future__ import annotations

import pytest

from bot.config import ConfigError, parse_config

GITLAB = """\
gitlab:
  url: https://gitlab.example.com
  project: platform/gitops
"""
WEB_APP = """\
apps:
  web:
    image: registry.example.com/shop/web
    sources: [shop/web]
    environments: [staging]
    manifests: [{path: "apps/{env}/web.yaml"}]
"""
ENVIRONMENTS = """\
environments:
  staging: {}
  production: {}
"""
# First line of the keys a builder adds.
ENV_LINE = 13
APP_LINE = 9
TOP_LINE = 13


def _block(keys: dict[str, str], indent: str) -> str:
    lines = []
    for key, value in keys.items():
        if value.startswith("\n"):
            nested = value.strip("\n").splitlines()
            lines.append(f"{indent}{key}:")
            lines.extend(f"{indent}  {line}" for line in nested)
        else:
            lines.append(f"{indent}{key}: {value}")
    return "".join(line + "\n" for line in lines)


def env_doc(**keys: str) -> str:
    """A document whose environment ``staging`` has ``keys`` from line 13."""
    head = GITLAB + WEB_APP + "environments:\n  production: {}\n"
    if not keys:
        return head + "  staging: {}\n"
    return head + "  staging:\n" + _block(keys, "    ")


def app_doc(**keys: str | None) -> str:
    """A document whose app ``web`` has ``keys`` (over the defaults) from line 9.

    The default keys come first, in order image, sources, environments,
    manifests (lines 9 to 12); a key given replaces its default in place,
    ``None`` leaves it out, and other keys follow from line 13.
    """
    defaults = {
        "image": "registry.example.com/shop/web",
        "sources": "[shop/web]",
        "environments": "[staging, production]",
        "manifests": '[{path: "apps/{env}/web.yaml"}]',
    }
    merged = {**defaults, **keys}
    present = {key: value for key, value in merged.items() if value is not None}
    return GITLAB + ENVIRONMENTS + "apps:\n  web:\n" + _block(present, "    ")


def top_doc(text: str) -> str:
    """A valid document ending in ``gitlab``, then ``text`` from line 13.

    ``text`` indented by two spaces continues the gitlab section.
    """
    return ENVIRONMENTS + WEB_APP + GITLAB + text


def problems_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    """The problem lines ``parse_config`` reports for ``text``, as bot.yaml."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "bot.yaml", environ=environ or {})
    assert str(caught.value) == "\n".join(caught.value.problems)
    return list(caught.value.problems)
