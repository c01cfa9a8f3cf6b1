"""Webhook bodies for merge-request, note and emoji events (pure).

Shapes follow ``MergeRequest#to_hook_data`` and the documented examples in
``fixtures/gitlab/webhooks``: the same body for every MR action, only
``action``, ``changes`` and ``oldrev`` vary. Callers pass users and the
project already rendered in their hook shapes (``user_hook``,
``project_hook``); this module only assembles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.mr.model import AwardEmoji, Label, MergeRequest, Note

JSON = dict[str, Any]

STATE_IDS = {"opened": 1, "closed": 2, "merged": 3, "locked": 4}


@dataclass(frozen=True)
class MergeRequestView:
    """A merge request with everything its hook attributes need."""

    mr: MergeRequest
    project: JSON
    url: str
    labels: list[JSON]
    last_commit: JSON | None
    detailed_merge_status: str
    merge_status: str
    assignees: list[JSON] = field(default_factory=list)
    reviewers: list[JSON] = field(default_factory=list)


def hook_time(iso: str | None) -> str | None:
    """Turn ``2026-12-03T18:24:26.123Z`` into the hooks' ``2026-12-03 18:24:26 UTC``."""
    if iso is None:
        return None
    return iso[:19].replace("T", " ") + " UTC"


def hook_label(label: Label) -> JSON:
    """Render a label as hooks carry it (an object, not a title)."""
    return {
        "id": label.id,
        "title": label.name,
        "color": label.color,
        "project_id": label.project_id,
        "created_at": hook_time(label.created_at),
        "updated_at": hook_time(label.updated_at),
        "template": False,
        "description": label.description,
        "type": "ProjectLabel",
        "group_id": None,
    }


def repository(project: JSON) -> JSON:
    """The short ``repository`` block built from a project hook object."""
    return {
        "name": project["name"],
        "url": project["url"],
        "description": project["description"],
        "homepage": project["homepage"],
    }


def mr_attributes(view: MergeRequestView) -> JSON:
    """The merge request's hook attributes (``object_attributes`` minus action)."""
    mr = view.mr
    return {
        "id": mr.id,
        "iid": mr.iid,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "source_project_id": mr.project_id,
        "target_project_id": mr.project_id,
        "author_id": mr.author_id,
        "assignee_ids": list(mr.assignee_ids),
        "assignee_id": mr.assignee_ids[0] if mr.assignee_ids else None,
        "reviewer_ids": list(mr.reviewer_ids),
        "title": mr.title,
        "description": mr.description,
        "created_at": hook_time(mr.created_at),
        "updated_at": hook_time(mr.updated_at),
        "last_edited_at": hook_time(mr.last_edited_at),
        "last_edited_by_id": mr.last_edited_by_id,
        "updated_by_id": mr.last_edited_by_id,
        "milestone_id": None,
        "state_id": STATE_IDS[mr.state],
        "state": mr.state,
        "blocking_discussions_resolved": True,
        "work_in_progress": mr.draft,
        "draft": mr.draft,
        "first_contribution": False,
        "merge_status": view.merge_status,
        "detailed_merge_status": view.detailed_merge_status,
        "merge_commit_sha": mr.merge_commit_sha,
        "merge_error": mr.merge_error,
        "merge_user_id": mr.merge_user_id,
        "merge_when_pipeline_succeeds": mr.merge_when_pipeline_succeeds,
        "head_pipeline_id": None,
        "prepared_at": hook_time(mr.created_at),
        "time_estimate": 0,
        "total_time_spent": 0,
        "time_change": 0,
        "human_total_time_spent": None,
        "human_time_change": None,
        "human_time_estimate": None,
        "url": view.url,
        "source": view.project,
        "target": view.project,
        "last_commit": view.last_commit,
        "labels": view.labels,
    }


def merge_request_event(
    view: MergeRequestView,
    actor: JSON,
    action: str,
    changes: JSON | None = None,
    oldrev: str | None = None,
) -> JSON:
    """A ``Merge Request Hook`` body for ``action`` done by ``actor``."""
    attributes = {**mr_attributes(view), "action": action}
    if oldrev is not None:
        attributes["oldrev"] = oldrev

    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": actor,
        "project": view.project,
        "repository": repository(view.project),
        "object_attributes": attributes,
        "labels": view.labels,
        "changes": changes or {},
        "assignees": view.assignees,
        "reviewers": view.reviewers,
    }


def change(previous: Any, current: Any) -> JSON:
    """One entry of ``changes``."""
    return {"previous": previous, "current": current}


def note_attributes(note: Note, view: MergeRequestView, action: str) -> JSON:
    """A note's hook attributes."""
    return {
        "id": note.id,
        "note": note.body,
        "noteable_type": "MergeRequest",
        "noteable_id": note.mr_id,
        "author_id": note.author_id,
        "created_at": hook_time(note.created_at),
        "updated_at": hook_time(note.updated_at),
        "project_id": note.project_id,
        "attachment": None,
        "line_code": None,
        "commit_id": "",
        "system": note.system,
        "st_diff": None,
        "type": None,
        "position": None,
        "internal": note.internal,
        "action": action,
        "url": f"{view.url}#note_{note.id}",
    }


def note_merge_request(view: MergeRequestView) -> JSON:
    """The ``merge_request`` block of note and emoji hooks."""
    assignee = view.assignees[0] if view.assignees else None
    if assignee is not None:
        assignee = {key: assignee[key] for key in ("name", "username", "avatar_url")}

    return {**mr_attributes(view), "position": 0, "assignee": assignee}


def note_event(note: Note, view: MergeRequestView, actor: JSON, action: str) -> JSON:
    """A ``Note Hook`` body for a comment on a merge request."""
    return {
        "object_kind": "note",
        "event_type": "note",
        "user": actor,
        "project_id": note.project_id,
        "project": view.project,
        "repository": repository(view.project),
        "object_attributes": note_attributes(note, view, action),
        "merge_request": note_merge_request(view),
    }


def emoji_note(note: Note, view: MergeRequestView) -> JSON:
    """The ``note`` block of an emoji hook on a comment."""
    return {
        "attachment": None,
        "author_id": note.author_id,
        "change_position": None,
        "commit_id": None,
        "created_at": hook_time(note.created_at),
        "discussion_id": f"{note.id:040x}",
        "id": note.id,
        "line_code": None,
        "note": note.body,
        "noteable_id": note.mr_id,
        "noteable_type": "MergeRequest",
        "original_position": None,
        "position": None,
        "project_id": note.project_id,
        "resolved_at": None,
        "resolved_by_id": None,
        "resolved_by_push": None,
        "st_diff": None,
        "system": note.system,
        "type": None,
        "updated_at": hook_time(note.updated_at),
        "updated_by_id": None,
        "description": note.body,
        "url": f"{view.url}#note_{note.id}",
    }


def emoji_event(
    award: AwardEmoji,
    view: MergeRequestView,
    actor: JSON,
    action: str,
    note: Note | None = None,
) -> JSON:
    """An ``Emoji Hook`` body for an award (``award``) or its removal (``revoke``)."""
    url = view.url if note is None else f"{view.url}#note_{note.id}"
    body = {
        "object_kind": "emoji",
        "event_type": action,
        "user": actor,
        "project_id": view.mr.project_id,
        "project": view.project,
        "object_attributes": {
            "user_id": award.user_id,
            "created_at": hook_time(award.created_at),
            "id": award.id,
            "name": award.name,
            "awardable_type": award.awardable_type,
            "awardable_id": award.awardable_id,
            "updated_at": hook_time(award.updated_at),
            "action": action,
            "awarded_on_url": url,
        },
        "merge_request": note_merge_request(view),
    }
    if note is not None:
        body["note"] = emoji_note(note, view)
    return body
