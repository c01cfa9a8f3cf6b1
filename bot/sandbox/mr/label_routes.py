"""Project label routes, and label sets of merge requests backed by the store.

``GET|POST|PUT|DELETE /projects/:id/labels[/:label_id]``; a label id is
the numeric id or the URL-encoded title. Merge requests create missing
labels on the fly with GitLab's default colour.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.mr import core, labels
from bot.sandbox.mr.labels import split_titles
from bot.sandbox.mr.model import LABELS, MERGE_REQUESTS, Label
from bot.sandbox.records import DEVELOPER, REPORTER, Project

__all__ = ["split_titles", "titles_for", "ensure_labels", "label_note", "setup"]

LABELS_PATH = "/api/v4/projects/{project_id}/labels"


def titles_for(state: Any, current: list[str], values: dict[str, Any]) -> list[str]:
    """The MR's label titles after ``labels``/``add_labels``/``remove_labels``."""
    replace = split_titles(values["labels"]) if "labels" in values else None
    return labels.next_titles(
        current,
        replace,
        split_titles(values.get("add_labels")),
        split_titles(values.get("remove_labels")),
        scoped=core.is_premium(state),
    )


def find_label(state: Any, project: Project, key: str) -> Label | None:
    """A project label by id or by title."""
    for label in state.store.find(LABELS, project_id=project.id):
        if str(label.id) == key or label.name == key:
            return label
    return None


def ensure_labels(state: Any, project: Project, titles: list[str]) -> list[int]:
    """Ids of the labels ``titles``, creating missing ones (default colour)."""
    ids = []
    for title in titles:
        label = find_label(state, project, title)
        if label is None:
            if labels.title_error(title):
                raise http.api_error(400, {"labels": [f"{title} is invalid"]})
            label = store_label(state, project, title, labels.DEFAULT_COLOR, None, None)
        ids.append(label.id)
    return ids


def store_label(
    state: Any,
    project: Project,
    name: str,
    color: str,
    description: str | None,
    priority: int | None,
) -> Label:
    """Insert a new project label."""
    now = http.iso()
    label = Label(
        project_id=project.id,
        name=name,
        color=color,
        created_at=now,
        updated_at=now,
        description=description,
        priority=priority,
    )
    return state.store.insert(LABELS, label)


def label_note(before: list[Label], after: list[Label]) -> str:
    """System note text: ``added ~1 label and removed ~2 ~3 labels``."""
    added = [label for label in after if label not in before]
    removed = [label for label in before if label not in after]
    parts = []
    for verb, group in (("added", added), ("removed", removed)):
        if group:
            refs = " ".join(f"~{label.id}" for label in group)
            parts.append(f"{verb} {refs} label{'s' if len(group) > 1 else ''}")
    return " and ".join(parts)


def render(state: Any, label: Label) -> dict[str, Any]:
    """The label entity."""
    return {
        "id": label.id,
        "name": label.name,
        "color": label.color,
        "text_color": labels.text_color(label.color),
        "description": label.description,
        "description_html": label.description,
        "open_issues_count": 0,
        "closed_issues_count": 0,
        "open_merge_requests_count": open_mr_count(state, label),
        "subscribed": False,
        "priority": label.priority,
        "is_project_label": True,
    }


def open_mr_count(state: Any, label: Label) -> int:
    """How many open MRs of the label's project carry it."""
    mrs = state.store.find(MERGE_REQUESTS, project_id=label.project_id, state="opened")
    return sum(1 for mr in mrs if label.id in mr.label_ids)


async def list_labels(request: web.Request) -> web.Response:
    """GET the project's labels (``search`` filters by title)."""
    state = core.state_of(request)
    project = http.find_project(request, request.match_info["project_id"])
    search = (request.query.get("search") or "").lower()
    found = [
        label
        for label in state.store.find(LABELS, project_id=project.id)
        if search in label.name.lower()
    ]
    return http.paginate(request, found, lambda label: render(state, label))


async def get_label(request: web.Request) -> web.Response:
    """GET one label by id or title."""
    state, project, label = label_of(request)
    return web.json_response(render(state, label))


def label_of(request: web.Request) -> tuple[Any, Project, Label]:
    """State, project and the label named in the URL (404 when absent)."""
    state = core.state_of(request)
    project = http.find_project(request, request.match_info["project_id"])
    label = find_label(state, project, request.match_info["label_id"])
    if label is None:
        raise http.not_found("Label")
    return state, project, label


def checked_color(value: Any) -> str:
    """A valid colour or GitLab's validation refusal."""
    color = labels.normalise_color(str(value))
    if color is None:
        raise http.api_error(400, {"color": ["must be a valid color code"]})
    return color


async def create_label(request: web.Request) -> web.Response:
    """POST a project label; 409 when the title exists."""
    state = core.state_of(request)
    project = http.project_in_url(request, REPORTER, "project_id")
    values = await http.params(request)
    http.require(values, "name")

    name = str(values["name"]).strip()
    error = labels.title_error(name)
    if error:
        raise http.api_error(400, {"title": [error]})
    color = checked_color(values.get("color") or labels.DEFAULT_COLOR)
    if find_label(state, project, name) is not None:
        raise http.api_error(409, "Label already exists")

    priority = values.get("priority")
    label = store_label(
        state,
        project,
        name,
        color,
        values.get("description"),
        None if priority in (None, "") else http.to_int(priority, "priority"),
    )
    return web.json_response(render(state, label), status=201)


async def update_label(request: web.Request) -> web.Response:
    """PUT a label (by URL id, or by ``name`` in the body as python-gitlab does)."""
    state = core.state_of(request)
    project = http.project_in_url(request, DEVELOPER, "project_id")
    values = await http.params(request)
    key = request.match_info.get("label_id") or values.get("name") or ""
    label = find_label(state, project, str(key))
    if label is None:
        raise http.not_found("Label")

    if values.get("new_name"):
        label.name = str(values["new_name"])
    if values.get("color"):
        label.color = checked_color(values["color"])
    if "description" in values:
        label.description = values["description"]
    label.updated_at = http.iso()
    return web.json_response(render(state, label))


async def delete_label(request: web.Request) -> web.Response:
    """DELETE a label; merge requests lose it."""
    state, project, label = label_of(request)
    http.require_access(request, project, DEVELOPER)
    state.store.delete(LABELS, label.id)
    for mr in state.store.find(MERGE_REQUESTS, project_id=project.id):
        if label.id in mr.label_ids:
            mr.label_ids.remove(label.id)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register the label routes."""
    app.router.add_get(LABELS_PATH, list_labels)
    app.router.add_post(LABELS_PATH, create_label)
    app.router.add_put(LABELS_PATH, update_label)
    app.router.add_get(LABELS_PATH + "/{label_id}", get_label)
    app.router.add_put(LABELS_PATH + "/{label_id}", update_label)
    app.router.add_delete(LABELS_PATH + "/{label_id}", delete_label)
