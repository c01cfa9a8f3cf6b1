"""Branch and title templates, and the comment command prefix.

A branch template must keep each (app, environment) on its own branch, so
it needs both ``{app}`` and ``{env}``, and must render to a name that git
and GitLab accept for any valid app and environment name.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import PlainValidator

from bot.config.fields import expected, matching, placeholders, template

TITLE_PLACEHOLDERS = ("app", "env", "tag", "digest", "short_digest", "image")
_BRANCH_CHARS = re.compile(r"[A-Za-z0-9._/-]+")


def _branch(value: Any) -> str:
    value = template(("env", "app"))(value)
    phrase = (
        "a branch template containing both {env} and {app}, made of letters, "
        "digits and . _ / - (no '..', '//', no leading or trailing '/' or '.')"
    )
    if not {"env", "app"} <= set(placeholders(value)):
        raise expected(phrase)

    sample = value.format(env="env", app="app")
    if not _BRANCH_CHARS.fullmatch(sample) or _unsafe_for_git(sample):
        raise expected(phrase)
    return value


def _unsafe_for_git(branch: str) -> bool:
    return (
        ".." in branch
        or "//" in branch
        or branch.startswith(("/", "."))
        or branch.endswith(("/", ".", ".lock"))
        or "/." in branch
    )


def render_title(
    title: str,
    app: str,
    env: str,
    image: str,
    tag: str | None,
    digest: str | None,
) -> str:
    """Fill the title template; a digest-only deploy shows the short digest."""
    short_digest = (digest or "").removeprefix("sha256:")[:12]
    return title.format(
        app=app,
        env=env,
        tag=tag or short_digest,
        digest=digest or "",
        short_digest=short_digest,
        image=image,
    )


BranchTemplate = Annotated[str, PlainValidator(_branch)]
TitleTemplate = Annotated[str, PlainValidator(template(TITLE_PLACEHOLDERS))]
CommandPrefix = Annotated[
    str,
    PlainValidator(
        matching(r"/[a-z][a-z0-9_-]*", "a prefix such as /gitops (a '/' and a word)")
    ),
]
