"""GitLab's answers turned into our own frozen values at the edge.

Only the fields the bot uses are kept; ``Any`` stops here.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from bot.errors import InvalidInput


@dataclass(frozen=True)
class RepositoryFile:
    """A file at a ref; ``commit_id`` is the SHA the ref resolved to."""

    path: str
    content: str
    ref: str
    commit_id: str
    last_commit_id: str
    blob_id: str


@dataclass(frozen=True)
class FileAction:
    """One action of a Commits API call (``create``, ``update``, ``delete``)."""

    action: str
    path: str
    content: str | None = None


@dataclass(frozen=True)
class Commit:
    """A commit written by the bot."""

    sha: str
    title: str
    parent_ids: tuple[str, ...]
    web_url: str | None
    committed_date: str = ""


@dataclass(frozen=True)
class Branch:
    """A branch head and its parents."""

    name: str
    sha: str
    parent_ids: tuple[str, ...]


@dataclass(frozen=True)
class PipelineRef:
    """A pipeline as the merge request's ``head_pipeline`` describes it."""

    id: int
    sha: str
    status: str
    source: str
    ref: str
    created_at: str
    updated_at: str = ""


@dataclass(frozen=True)
class ProjectSettings:
    """The project's settings the bot acts on.

    ``pipeline_must_succeed`` is ``only_allow_merge_if_pipeline_succeeds``
    ("Pipelines must succeed"): without it, GitLab's auto-merge asked for
    after the pipeline failed merges at once.
    """

    pipeline_must_succeed: bool


@dataclass(frozen=True)
class MergeRequest:
    """A merge request as the list and single endpoints describe it."""

    iid: int
    state: str
    title: str
    description: str
    labels: tuple[str, ...]
    source_branch: str
    target_branch: str
    sha: str | None
    web_url: str
    draft: bool
    author_id: int | None
    created_at: str
    detailed_merge_status: str | None
    reviewer_ids: tuple[int, ...]
    head_pipeline_id: int | None = None
    head_pipeline: PipelineRef | None = None
    has_conflicts: bool = False
    merge_when_pipeline_succeeds: bool = False
    # GitLab's count of the non-system notes; None when the answer lacks it.
    user_notes_count: int | None = None
    merge_commit_sha: str | None = None


@dataclass(frozen=True)
class DiffVersion:
    """One diff version of a merge request: the heads GitLab recorded when the
    diff was reloaded (creation, a push), and when, by GitLab's own clock."""

    id: int
    head_commit_sha: str
    base_commit_sha: str
    start_commit_sha: str
    created_at: str


@dataclass(frozen=True)
class Approvals:
    """Who approved a merge request, and how many approvals are still missing."""

    approved_by: tuple[str, ...]
    approvals_required: int
    approvals_left: int
    entries: tuple[ApprovedBy, ...] = ()


@dataclass(frozen=True)
class ApprovedBy:
    """One approval: who gave it, and when (ISO 8601, "" when unknown)."""

    user_id: int
    username: str
    approved_at: str


@dataclass(frozen=True)
class ApprovalRule:
    """A merge-request-level approval rule (Premium)."""

    name: str
    approvals_required: int
    usernames: tuple[str, ...] = ()
    group_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Job:
    """One job of a pipeline."""

    id: int
    name: str
    stage: str
    status: str
    allow_failure: bool


@dataclass(frozen=True)
class Note:
    """A comment on a merge request."""

    id: int
    body: str
    author_id: int | None = None
    system: bool = False
    author_username: str = ""


@dataclass(frozen=True)
class AwardEmoji:
    """An award emoji given by ``user_id``."""

    id: int
    name: str
    user_id: int | None


def parse_file(data: dict[str, Any]) -> RepositoryFile:
    """Decode a files API answer (content is base64 of UTF-8 text)."""
    path = data["file_path"]
    try:
        content = base64.b64decode(data.get("content") or "").decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path} at {data.get('ref')}: not UTF-8 text") from error
    return RepositoryFile(
        path=path,
        content=content,
        ref=data.get("ref", ""),
        commit_id=data["commit_id"],
        last_commit_id=data.get("last_commit_id", ""),
        blob_id=data.get("blob_id", ""),
    )


def parse_commit(data: dict[str, Any]) -> Commit:
    """Read a Commits API answer."""
    return Commit(
        sha=data["id"],
        title=data.get("title", ""),
        parent_ids=tuple(data.get("parent_ids") or ()),
        web_url=data.get("web_url"),
        committed_date=data.get("committed_date") or data.get("created_at") or "",
    )


def parse_branch(data: dict[str, Any]) -> Branch:
    """Read a branches API answer."""
    commit = data.get("commit") or {}
    return Branch(
        name=data["name"],
        sha=commit.get("id", ""),
        parent_ids=tuple(commit.get("parent_ids") or ()),
    )


def parse_project_settings(data: dict[str, Any]) -> ProjectSettings:
    """Read a single-project answer; an absent setting counts as off."""
    return ProjectSettings(
        pipeline_must_succeed=data.get("only_allow_merge_if_pipeline_succeeds") is True
    )


def parse_merge_request(data: dict[str, Any]) -> MergeRequest:
    """Read a merge request entry (list or single)."""
    pipeline = data.get("head_pipeline") or {}
    return MergeRequest(
        iid=int(data["iid"]),
        state=data["state"],
        title=data.get("title") or "",
        description=data.get("description") or "",
        labels=tuple(_label_names(data.get("labels") or ())),
        source_branch=data["source_branch"],
        target_branch=data["target_branch"],
        sha=data.get("sha"),
        web_url=data.get("web_url") or "",
        draft=bool(data.get("draft") or data.get("work_in_progress")),
        author_id=(data.get("author") or {}).get("id"),
        created_at=data.get("created_at") or "",
        detailed_merge_status=data.get("detailed_merge_status"),
        reviewer_ids=tuple(r["id"] for r in data.get("reviewers") or () if "id" in r),
        head_pipeline_id=pipeline.get("id"),
        head_pipeline=parse_pipeline_ref(pipeline) if pipeline.get("id") else None,
        has_conflicts=bool(data.get("has_conflicts")),
        merge_when_pipeline_succeeds=bool(data.get("merge_when_pipeline_succeeds")),
        user_notes_count=_optional_int(data.get("user_notes_count")),
        merge_commit_sha=data.get("merge_commit_sha"),
    )


def parse_diff_version(data: dict[str, Any]) -> DiffVersion:
    """Read one entry of a merge request's diff versions."""
    return DiffVersion(
        id=int(data["id"]),
        head_commit_sha=data.get("head_commit_sha") or "",
        base_commit_sha=data.get("base_commit_sha") or "",
        start_commit_sha=data.get("start_commit_sha") or "",
        created_at=data.get("created_at") or "",
    )


def parse_pipeline_ref(data: dict[str, Any]) -> PipelineRef:
    """Read a pipeline entity (``head_pipeline`` or a pipelines list entry)."""
    return PipelineRef(
        id=int(data["id"]),
        sha=data.get("sha") or "",
        status=data.get("status") or "",
        source=data.get("source") or "",
        ref=data.get("ref") or "",
        created_at=data.get("created_at") or "",
        updated_at=data.get("updated_at") or "",
    )


def parse_approvals(data: dict[str, Any]) -> Approvals:
    """Read the approvals endpoint."""
    given = data.get("approved_by") or ()
    approvers = (entry.get("user") or {} for entry in given)
    return Approvals(
        approved_by=tuple(user["username"] for user in approvers if "username" in user),
        approvals_required=int(data.get("approvals_required") or 0),
        approvals_left=int(data.get("approvals_left") or 0),
        entries=tuple(
            ApprovedBy(
                user_id=int(entry["user"]["id"]),
                username=entry["user"].get("username", ""),
                approved_at=entry.get("approved_at") or "",
            )
            for entry in given
            if "id" in (entry.get("user") or {})
        ),
    )


def parse_job(data: dict[str, Any]) -> Job:
    """Read one entry of a pipeline's jobs."""
    return Job(
        id=int(data["id"]),
        name=data.get("name", ""),
        stage=data.get("stage", ""),
        status=data.get("status", ""),
        allow_failure=bool(data.get("allow_failure")),
    )


def parse_note(data: dict[str, Any]) -> Note:
    """Read a note (created, or a list entry)."""
    author = data.get("author") or {}
    return Note(
        id=int(data["id"]),
        body=data.get("body", ""),
        author_id=author.get("id"),
        system=bool(data.get("system")),
        author_username=author.get("username") or "",
    )


def parse_award(data: dict[str, Any]) -> AwardEmoji:
    """Read an award emoji."""
    return AwardEmoji(
        id=int(data["id"]),
        name=data.get("name", ""),
        user_id=(data.get("user") or {}).get("id"),
    )


def _label_names(labels: Any) -> list[str]:
    """Labels are titles in the REST API, objects with ``with_labels_details``."""
    return [label["name"] if isinstance(label, dict) else label for label in labels]


def _optional_int(value: Any) -> int | None:
    """An integer field, or None when absent or not a number."""
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
