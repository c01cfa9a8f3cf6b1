"""The body of ``POST /api/v1/deployments``, checked field by field.

Every problem is collected before answering, so that a caller fixes its
request in one round: ``InvalidFields`` lists each field with what is
expected. Names, tags and digests follow ``bot.policy``'s grammar, the same
as the job mode's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot import policy
from bot.record import Source
from bot.server.edge import InvalidFields

SHA_RE = re.compile(r"[0-9a-f]{7,64}")
URL_RE = re.compile(r"https?://[^\s]{1,2000}")
REF_RE = re.compile(r"[^\s\x00-\x1f]{1,255}")
PROJECT_RE = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+")

TOP_FIELDS = ("app", "environment", "tag", "digest", "source", "force", "dry_run")
SOURCE_FIELDS = ("project", "sha", "ref", "pipeline_url")


@dataclass(frozen=True)
class DeployBody:
    """A well-formed deploy request body (``source`` as the caller tells it)."""

    app: str
    environment: str
    tag: str | None
    digest: str | None
    source: Source
    force: bool
    dry_run: bool


class _Problems:
    """Collects ``{"field", "message"}`` pairs while fields are read."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append({"field": field, "message": message})

    def unknown(self, data: Mapping[str, Any], known: tuple[str, ...], at: str) -> None:
        for key in data:
            if key not in known:
                self.add(f"{at}{key}", f"unknown field; expected one of {known}")

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        check: Callable[[str], Any],
        *,
        at: str = "",
        required: bool = False,
    ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add(at + key, "is required")
            return None
        if not isinstance(value, str):
            self.add(at + key, f"expected a string, got {_json_type(value)}")
            return None
        try:
            check(value)
        except ValueError as error:
            self.add(at + key, str(error))
            return None
        return value

    def flag(self, data: Mapping[str, Any], key: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.add(key, f"expected true or false, got {_json_type(value)}")
            return False
        return value


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    names.update({list: "an array", dict: "an object"})
    return names.get(type(value), "null" if value is None else type(value).__name__)


def _policy_check(validate: Callable[[str], Any]) -> Callable[[str], Any]:
    def check(value: str) -> None:
        try:
            validate(value)
        except policy.InvalidReference as error:
            raise ValueError(str(error)) from None

    return check


def _matching(pattern: re.Pattern[str], phrase: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if not pattern.fullmatch(value):
            raise ValueError(f"expected {phrase}")

    return check


def parse_deploy_body(data: Any) -> DeployBody:
    """Return the checked body, or raise ``InvalidFields`` listing every problem."""
    if not isinstance(data, Mapping):
        raise InvalidFields([{"field": "body", "message": "expected a JSON object"}])
    problems = _Problems()
    problems.unknown(data, TOP_FIELDS, "")

    app = problems.text(data, "app", _name_check("app"), required=True)
    environment = problems.text(
        data, "environment", _name_check("environment"), required=True
    )
    tag = problems.text(data, "tag", _policy_check(policy.validate_tag))
    digest = problems.text(data, "digest", _policy_check(policy.validate_digest))
    if data.get("tag") is None and data.get("digest") is None:
        problems.add("tag", "tag or digest is required (or both)")
    source = _parse_source(data.get("source"), problems)
    force = problems.flag(data, "force")
    dry_run = problems.flag(data, "dry_run")

    if problems.items:
        raise InvalidFields(problems.items)
    assert app is not None and environment is not None  # checked above
    return DeployBody(app, environment, tag, digest, source, force, dry_run)


def _name_check(kind: str) -> Callable[[str], Any]:
    return _policy_check(lambda value: policy.validate_name(kind, value))


def _parse_source(data: Any, problems: _Problems) -> Source:
    if data is None:
        return Source()
    if not isinstance(data, Mapping):
        problems.add("source", f"expected an object, got {_json_type(data)}")
        return Source()
    problems.unknown(data, SOURCE_FIELDS, "source.")

    at = "source."
    return Source(
        project=problems.text(
            data, "project", _matching(PROJECT_RE, "a project path"), at=at
        ),
        sha=problems.text(data, "sha", _matching(SHA_RE, "a commit SHA (hex)"), at=at),
        ref=problems.text(data, "ref", _matching(REF_RE, "a git ref"), at=at),
        pipeline_url=problems.text(
            data, "pipeline_url", _matching(URL_RE, "an http(s) URL"), at=at
        ),
    )
