"""GitLab webhook payloads turned into our own frozen values at the edge.

Only the fields the bot uses are kept. ``parse_event`` returns ``None`` for
kinds the bot does not handle (push, tag push, job, issue...), and raises
``MalformedEvent`` naming the field when a handled kind lacks one, so that
nothing downstream digs through raw dictionaries.

Reference shapes: GitLab's "Webhook events" page; the recorded examples are
in ``../shared/fixtures/gitlab/webhooks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import InvalidInput


class MalformedEvent(InvalidInput):
    """A webhook of a handled kind lacks a field we need, or has the wrong type."""


@dataclass(frozen=True)
class MergeRequestEvent:
    """Something happened to a merge request (open, update, approved, merge...)."""

    project_path: str
    iid: int
    action: str
    state: str
    head_sha: str
    source_branch: str
    target_branch: str
    labels: tuple[str, ...]
    author_id: int
    actor_id: int
    draft: bool
    detailed_merge_status: str
    oldrev: str | None


@dataclass(frozen=True)
class PipelineEvent:
    """A pipeline changed status; ``merge_request_iid`` only for MR pipelines."""

    project_path: str
    pipeline_id: int
    sha: str
    ref: str
    status: str
    source: str
    merge_request_iid: int | None


@dataclass(frozen=True)
class NoteEvent:
    """A comment was created or edited (``action`` is ``create`` or ``update``)."""

    project_path: str
    note_id: int
    noteable_type: str
    merge_request_iid: int | None
    author_id: int
    author_username: str
    body: str
    action: str
    system: bool


@dataclass(frozen=True)
class EmojiEvent:
    """An award emoji was given or taken back on a note or an issuable."""

    project_path: str
    name: str
    action: str
    awardable_type: str
    awardable_id: int
    user_id: int
    merge_request_iid: int | None


Event = MergeRequestEvent | PipelineEvent | NoteEvent | EmojiEvent


class _Reader:
    """Typed access to a JSON object that names the missing or wrong field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise MalformedEvent(f"webhook field {where or 'body'}: expected an object")
        self._data = data
        self._where = where

    def child(self, key: str) -> _Reader:
        return _Reader(self._data.get(key), self._path(key))

    def optional_child(self, key: str) -> _Reader | None:
        value = self._data.get(key)
        return None if value is None else _Reader(value, self._path(key))

    def value(self, key: str, kind: type, default: Any = ...) -> Any:
        # A null field counts as absent: it takes the default, or is missing.
        value = self._data.get(key)
        if value is None:
            if default is ...:
                raise MalformedEvent(f"webhook field {self._path(key)} is missing")
            return default
        if not _is_kind(value, kind):
            expected = kind.__name__
            raise MalformedEvent(
                f"webhook field {self._path(key)}: expected {expected}"
            )
        return value

    def _path(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where else key


def _is_kind(value: Any, kind: type) -> bool:
    # bool is an int in Python; a JSON boolean is never an id.
    if kind is int and isinstance(value, bool):
        return False
    return isinstance(value, kind)


def parse_event(payload: Any) -> Event | None:
    """Return our value for a handled webhook payload, or ``None`` to ignore it.

    Raises:
        MalformedEvent: a handled kind lacks a field, naming it.
    """
    root = _Reader(payload, "")
    parser = _PARSERS.get(root.value("object_kind", str, ""))
    return None if parser is None else parser(root)


def _project_path(root: _Reader) -> str:
    return root.child("project").value("path_with_namespace", str)


def _parse_merge_request(root: _Reader) -> MergeRequestEvent:
    attributes = root.child("object_attributes")
    labels = attributes.value("labels", list, [])
    return MergeRequestEvent(
        project_path=_project_path(root),
        iid=attributes.value("iid", int),
        action=attributes.value("action", str, ""),
        state=attributes.value("state", str),
        head_sha=attributes.child("last_commit").value("id", str),
        source_branch=attributes.value("source_branch", str),
        target_branch=attributes.value("target_branch", str),
        labels=tuple(_label_titles(labels)),
        author_id=attributes.value("author_id", int),
        actor_id=root.child("user").value("id", int),
        draft=attributes.value("draft", bool, False),
        detailed_merge_status=attributes.value("detailed_merge_status", str, ""),
        oldrev=attributes.value("oldrev", str, None),
    )


def _label_titles(labels: list[Any]) -> list[str]:
    titles = [label.get("title") for label in labels if isinstance(label, Mapping)]
    return [title for title in titles if isinstance(title, str)]


def _merge_request_iid(root: _Reader) -> int | None:
    merge_request = root.optional_child("merge_request")
    return None if merge_request is None else merge_request.value("iid", int)


def _parse_pipeline(root: _Reader) -> PipelineEvent:
    attributes = root.child("object_attributes")
    return PipelineEvent(
        project_path=_project_path(root),
        pipeline_id=attributes.value("id", int),
        sha=attributes.value("sha", str),
        ref=attributes.value("ref", str, ""),
        status=attributes.value("status", str),
        source=attributes.value("source", str, ""),
        merge_request_iid=_merge_request_iid(root),
    )


def _parse_note(root: _Reader) -> NoteEvent:
    attributes = root.child("object_attributes")
    user = root.child("user")
    noteable_type = attributes.value("noteable_type", str)
    is_on_mr = noteable_type == "MergeRequest"
    return NoteEvent(
        project_path=_project_path(root),
        note_id=attributes.value("id", int),
        noteable_type=noteable_type,
        merge_request_iid=_merge_request_iid(root) if is_on_mr else None,
        author_id=user.value("id", int),
        author_username=user.value("username", str),
        body=attributes.value("note", str, ""),
        # Before GitLab 16.11 notes carried no action; only creation fired.
        action=attributes.value("action", str, "create"),
        system=attributes.value("system", bool, False),
    )


def _parse_emoji(root: _Reader) -> EmojiEvent:
    attributes = root.child("object_attributes")
    return EmojiEvent(
        project_path=_project_path(root),
        name=attributes.value("name", str),
        action=attributes.value("action", str),
        awardable_type=attributes.value("awardable_type", str),
        awardable_id=attributes.value("awardable_id", int),
        user_id=attributes.value("user_id", int),
        merge_request_iid=_merge_request_iid(root),
    )


_PARSERS = {
    "merge_request": _parse_merge_request,
    "pipeline": _parse_pipeline,
    "note": _parse_note,
    "emoji": _parse_emoji,
}
