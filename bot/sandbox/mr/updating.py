"""``PUT /projects/:id/merge_requests/:iid``: edits, label changes, close/reopen.

Every edit is recorded as GitLab does: a system note per kind of change,
then one ``update`` hook carrying ``changes`` (previous/current), then the
``close``/``reopen`` hook of a ``state_event``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.mr import core, label_routes, service, views
from bot.sandbox.mr.model import MERGE_REQUESTS, MergeRequest, is_draft_title
from bot.sandbox.mr.payloads import change, hook_label
from bot.sandbox.records import DEVELOPER, Project, User

UPDATE_PARAMS = (
    "target_branch",
    "title",
    "assignee_id",
    "assignee_ids",
    "reviewer_ids",
    "description",
    "state_event",
    "labels",
    "add_labels",
    "remove_labels",
    "milestone_id",
    "remove_source_branch",
    "allow_collaboration",
    "allow_maintainer_to_push",
    "squash",
    "discussion_locked",
    "merge_after",
)


def ensure_no_open_duplicate(
    state: Any, project: Project, source: str, target: str, own_id: int | None
) -> None:
    """409 when another open MR has the same source and target branches."""
    for other in state.store.find(
        MERGE_REQUESTS,
        project_id=project.id,
        source_branch=source,
        target_branch=target,
    ):
        if other.state == "opened" and other.id != own_id:
            message = [
                "Another open merge request already exists for this source branch: "
                f"!{other.iid}"
            ]
            raise http.api_error(409, message)


def user_ids(
    state: Any, values: dict[str, Any], many: str, one: str | None
) -> list[int]:
    """Existing user ids from ``assignee_ids``-style parameters (0/empty clears)."""
    raw = values.get(many)
    if raw is None and one is not None and values.get(one) is not None:
        raw = [values[one]]
    if raw is None or raw == "":
        return []

    items = raw if isinstance(raw, list) else str(raw).split(",")
    ids = [http.to_int(item, many) for item in items if str(item).strip()]
    return [i for i in dict.fromkeys(ids) if i and core.user(state, i) is not None]


def ensure_update_params(values: dict[str, Any]) -> None:
    """Grape's ``at_least_one_of`` refusal."""
    if not any(name in values for name in UPDATE_PARAMS):
        names = ", ".join(UPDATE_PARAMS)
        raise http.grape_error(
            400, f"{names} are missing, at least one parameter must be provided"
        )


def ensure_may_update(request: web.Request, project: Project, mr: MergeRequest) -> User:
    """Developers and the author may edit; others get 403."""
    user = http.current_user(request)
    level = core.access_level(core.state_of(request), user, project)
    if level < DEVELOPER and user.id != mr.author_id:
        raise http.forbidden()
    return user


async def update_mr(request: web.Request) -> web.Response:
    """PUT a merge request: apply the edits, note and hook them, answer 200."""
    state, project, mr = service.mr_of(request)
    user = ensure_may_update(request, project, mr)
    values = await http.params(request)
    ensure_update_params(values)
    state_event = state_event_of(values)

    previous = mr.updated_at
    changes = apply_edits(state, project, mr, user, values)
    if changes:
        service.touch(mr)
        changes["updated_at"] = change(previous, mr.updated_at)
        changes["updated_by_id"] = change(None, user.id)
        await service.emit_mr(state, project, mr, user, "update", changes)

    if state_event is not None:
        await change_state(state, project, mr, user, state_event)
    return service.respond(request, project, mr)


def state_event_of(values: dict[str, Any]) -> str | None:
    """The validated ``state_event`` parameter."""
    event = values.get("state_event")
    if event in (None, ""):
        return None
    if event not in ("close", "reopen"):
        raise http.grape_error(400, "state_event does not have a valid value")
    return str(event)


def apply_edits(
    state: Any, project: Project, mr: MergeRequest, user: User, values: dict[str, Any]
) -> dict[str, Any]:
    """Apply every edit in ``values``; return the hook's ``changes``."""
    changes: dict[str, Any] = {}
    edit_text(state, mr, user, values, changes)
    edit_target(state, project, mr, user, values, changes)
    edit_labels(state, project, mr, user, values, changes)
    edit_people(state, mr, user, values, changes)
    edit_flags(mr, values)
    return changes


def edit_text(
    state: Any, mr: MergeRequest, user: User, values: dict[str, Any], changes: dict
) -> None:
    """Title (draft follows it) and description."""
    if "title" in values:
        title = str(values["title"] or "")
        if not title.strip():
            raise http.api_error(400, {"title": ["can't be blank"]})
        if title != mr.title:
            record_title(state, mr, user, title, changes)

    if "description" in values:
        description = str(values["description"] or "")
        if description != mr.description:
            changes["description"] = change(mr.description, description)
            mr.description = description
            service.system_note(state, mr, user.id, "changed the description")
            mark_edited(mr, user, changes)


def record_title(
    state: Any, mr: MergeRequest, user: User, title: str, changes: dict
) -> None:
    """Change the title; a draft prefix change is noted as such."""
    was_draft, now_draft = mr.draft, is_draft_title(title)
    changes["title"] = change(mr.title, title)
    note = f"changed title from **{mr.title}** to **{title}**"
    mr.title = title
    service.system_note(state, mr, user.id, note)
    if was_draft != now_draft:
        changes["draft"] = change(was_draft, now_draft)
        marked = "draft" if now_draft else "ready"
        service.system_note(
            state, mr, user.id, f"marked this merge request as **{marked}**"
        )
    mark_edited(mr, user, changes)


def mark_edited(mr: MergeRequest, user: User, changes: dict) -> None:
    """Record who last edited the title or description."""
    now = http.iso()
    changes["last_edited_at"] = change(mr.last_edited_at, now)
    changes["last_edited_by_id"] = change(mr.last_edited_by_id, user.id)
    mr.last_edited_at, mr.last_edited_by_id = now, user.id


def edit_target(
    state: Any,
    project: Project,
    mr: MergeRequest,
    user: User,
    values: dict[str, Any],
    changes: dict,
) -> None:
    """Retarget: the branch must exist and no other open MR may collide."""
    target = values.get("target_branch")
    if not target or target == mr.target_branch:
        return
    if target == mr.source_branch:
        message = ["You can't use same project/branch for source and target"]
        raise http.api_error(422, message)
    if core.repository(state, project).head(str(target)) is None:
        raise http.api_error(422, [f'Target branch "{target}" does not exist'])

    ensure_no_open_duplicate(state, project, mr.source_branch, str(target), mr.id)
    changes["target_branch"] = change(mr.target_branch, target)
    note = f"changed target branch from `{mr.target_branch}` to `{target}`"
    mr.target_branch = str(target)
    service.system_note(state, mr, user.id, note)
    views.refresh(state, project, mr, source_moved=True)


def edit_labels(
    state: Any,
    project: Project,
    mr: MergeRequest,
    user: User,
    values: dict[str, Any],
    changes: dict,
) -> None:
    """labels / add_labels / remove_labels, with a system note of the difference."""
    if not any(key in values for key in ("labels", "add_labels", "remove_labels")):
        return

    before = views.labels_of(state, mr)
    current = [label.name for label in before]
    titles = label_routes.titles_for(state, current, values)
    mr.label_ids = label_routes.ensure_labels(state, project, titles)
    after = views.labels_of(state, mr)
    if [label.id for label in before] == [label.id for label in after]:
        return

    changes["labels"] = change(
        [hook_label(label) for label in before], [hook_label(label) for label in after]
    )
    note = label_routes.label_note(before, after)
    service.system_note(state, mr, user.id, note)


def edit_people(
    state: Any, mr: MergeRequest, user: User, values: dict[str, Any], changes: dict
) -> None:
    """Assignees and reviewers, each with its hook change and system note."""
    if "assignee_ids" in values or "assignee_id" in values:
        wanted = user_ids(state, values, "assignee_ids", "assignee_id")
        if wanted != mr.assignee_ids:
            changes["assignees"] = people_change(state, mr.assignee_ids, wanted)
            service.system_note(
                state, mr, user.id, people_note(state, "assigned to", wanted)
            )
            mr.assignee_ids = wanted

    if "reviewer_ids" in values:
        wanted = user_ids(state, values, "reviewer_ids", None)
        if wanted != mr.reviewer_ids:
            changes["reviewers"] = people_change(state, mr.reviewer_ids, wanted)
            note = people_note(state, "requested review from", wanted)
            service.system_note(state, mr, user.id, note)
            mr.reviewer_ids = wanted


def people_change(state: Any, before: list[int], after: list[int]) -> dict[str, Any]:
    """A ``changes`` entry of hook users."""
    return change(views.hook_people(state, before), views.hook_people(state, after))


def people_note(state: Any, verb: str, ids: list[int]) -> str:
    """``assigned to @a and @b`` (or ``removed all``) system note text."""
    names = [f"@{core.user(state, i).username}" for i in ids]
    return f"{verb} {' and '.join(names)}" if names else f"removed all ({verb})"


def edit_flags(mr: MergeRequest, values: dict[str, Any]) -> None:
    """squash and remove_source_branch (no hook change, as GitLab)."""
    if values.get("squash") is not None:
        mr.squash = http.to_bool(values["squash"], "squash")
    if values.get("remove_source_branch") is not None:
        remove = http.to_bool(values["remove_source_branch"], "remove_source_branch")
        mr.force_remove_source_branch = remove


async def change_state(
    state: Any, project: Project, mr: MergeRequest, user: User, event: str
) -> None:
    """Close an open MR or reopen a closed one (anything else is ignored)."""
    if event == "close" and mr.state == "opened":
        mr.state, mr.closed_at, mr.closed_by_id = "closed", http.iso(), user.id
        mr.merge_when_pipeline_succeeds = False
        service.system_note(state, mr, user.id, "closed")
        action = "close"
    elif event == "reopen" and mr.state == "closed":
        ensure_no_open_duplicate(
            state, project, mr.source_branch, mr.target_branch, mr.id
        )
        mr.state, mr.closed_at, mr.closed_by_id = "opened", None, None
        views.refresh(state, project, mr, source_moved=True)
        service.system_note(state, mr, user.id, "reopened")
        action = "reopen"
    else:
        return

    service.touch(mr)
    await service.emit_mr(state, project, mr, user, action)
