"""Merge request routes: list, get, create, and the route table of the MR part.

``setup`` registers the MR tables, the listener that follows branch
updates, and the routes of every MR module.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.mr import (
    approving,
    core,
    emoji,
    label_routes,
    listing,
    merging,
    notes,
    pushes,
    reads,
    service,
    updating,
    views,
)
from bot.sandbox.mr.listing import ListQuery
from bot.sandbox.mr.model import (
    APPROVAL_RULES,
    MERGE_REQUESTS,
    RECORDS,
    ApprovalRule,
    MergeRequest,
)
from bot.sandbox.records import DEVELOPER, Project

MR_PATH = "/api/v4/projects/{project_id}/merge_requests"


def choice(
    values: dict[str, Any], name: str, allowed: tuple[str, ...], default: str
) -> str:
    """A parameter restricted to ``allowed`` (Grape's ``values:``)."""
    value = str(values.get(name) or default)
    if value not in allowed:
        raise http.grape_error(400, f"{name} does not have a valid value")
    return value


def parse_list_query(state: Any, values: dict[str, Any]) -> ListQuery:
    """Read and validate the list filters."""
    author_id = values.get("author_id")
    if values.get("author_username"):
        users = state.store.find("users", username=values["author_username"])
        author_id = users[0].id if users else -1

    iids = values.get("iids") or []
    draft = values.get("draft", values.get("wip"))
    return ListQuery(
        state=choice(values, "state", listing.STATES, "all"),
        source_branch=values.get("source_branch") or None,
        target_branch=values.get("target_branch") or None,
        labels=tuple(label_routes.split_titles(values.get("labels"))),
        author_id=None if author_id is None else http.to_int(author_id, "author_id"),
        iids=tuple(http.to_int(iid, "iids") for iid in iids if str(iid)),
        draft=None if draft is None else draft in (True, "true", "yes"),
        order_by=choice(values, "order_by", listing.ORDERS, "created_at"),
        sort=choice(values, "sort", ("asc", "desc"), "desc"),
    )


async def list_mrs(request: web.Request) -> web.Response:
    """GET merge requests of a project, filtered and paginated."""
    state = core.state_of(request)
    project = service.project_of(request)
    query = parse_list_query(state, await http.params(request))

    found = [
        mr
        for mr in state.store.find(MERGE_REQUESTS, project_id=project.id)
        if listing.matches(
            query, mr, [label.name for label in views.labels_of(state, mr)]
        )
    ]
    items = listing.ordered(found, query)
    if request.query.get("view") == "simple":
        return http.paginate(request, items, lambda mr: simple(state, project, mr))

    page, per_page = http.page_window(request)
    await views.prefetch(state, project, items[(page - 1) * per_page :][:per_page])
    return http.paginate(
        request, items, lambda mr: views.render_basic(state, project, mr)
    )


def simple(state: Any, project: Project, mr: MergeRequest) -> dict[str, Any]:
    """The ``view=simple`` entry."""
    keys = ("id", "iid", "project_id", "title", "description", "state")
    return {
        **{key: getattr(mr, key) for key in keys},
        "created_at": mr.created_at,
        "updated_at": mr.updated_at,
        "web_url": views.web_url(state, project, mr),
    }


async def get_mr(request: web.Request) -> web.Response:
    """GET one merge request (full entity)."""
    _, project, mr = service.mr_of(request)
    return service.respond(request, project, mr)


async def create_mr(request: web.Request) -> web.Response:
    """POST a merge request: refusals first, then store, hook and answer 201."""
    state = core.state_of(request)
    user = http.current_user(request)
    project = http.project_in_url(request, DEVELOPER, "project_id")
    values = await http.params(request)

    ensure_create_params(values)
    source, target = str(values["source_branch"]), str(values["target_branch"])
    ensure_branches(state, project, source, target)
    updating.ensure_no_open_duplicate(state, project, source, target, None)

    mr = build_mr(state, project, user.id, values)
    state.store.insert(MERGE_REQUESTS, mr)
    copy_project_rules(state, project, mr)
    views.refresh(state, project, mr, source_moved=True)

    await state.emit("merge_request_opened", project, mr)  # MR pipeline (CI part)
    await service.emit_mr(state, project, mr, user, "open")
    return service.respond(request, project, mr, status=201)


def ensure_create_params(values: dict[str, Any]) -> None:
    """Grape's refusal naming every missing required parameter."""
    missing = [
        name
        for name in ("title", "source_branch", "target_branch")
        if values.get(name) in (None, "")
    ]
    if missing:
        raise http.grape_error(400, ", ".join(missing) + " is missing")


def ensure_branches(state: Any, project: Project, source: str, target: str) -> None:
    """Refuse identical or missing branches (GitLab's ``validate_branches``)."""
    if source == target:
        message = ["You can't use same project/branch for source and target"]
        raise http.api_error(422, message)

    # Checked 2026-12-03 against MergeRequests::BuildService: every missing
    # branch adds its own error on ``base``; the API renders them as a 400.
    repo = core.repository(state, project)
    missing = [
        f'{kind} branch "{branch}" does not exist'
        for kind, branch in (("Source", source), ("Target", target))
        if repo.head(branch) is None
    ]
    if missing:
        raise http.api_error(400, {"base": missing})


def build_mr(
    state: Any, project: Project, author_id: int, values: dict[str, Any]
) -> MergeRequest:
    """A new merge request record from the create parameters."""
    now = http.iso()
    mr = MergeRequest(
        project_id=project.id,
        iid=state.store.next_id(f"merge_request_iid:{project.id}"),
        title=str(values["title"]),
        source_branch=str(values["source_branch"]),
        target_branch=str(values["target_branch"]),
        author_id=author_id,
        created_at=now,
        updated_at=now,
        description=str(values.get("description") or ""),
    )
    mr.label_ids = label_routes.ensure_labels(
        state, project, label_routes.titles_for(state, [], values)
    )
    mr.assignee_ids = updating.user_ids(state, values, "assignee_ids", "assignee_id")
    mr.reviewer_ids = updating.user_ids(state, values, "reviewer_ids", None)
    mr.squash = merging.squash_setting(project, values.get("squash"))
    if values.get("remove_source_branch") is not None:
        remove = http.to_bool(values["remove_source_branch"], "remove_source_branch")
        mr.force_remove_source_branch = remove
    return mr


def copy_project_rules(state: Any, project: Project, mr: MergeRequest) -> None:
    """Premium: turn the project's required approvals into an MR rule."""
    if core.is_premium(state) and project.approvals_before_merge > 0:
        rule = ApprovalRule(
            mr_id=mr.id,
            name="All Members",
            approvals_required=project.approvals_before_merge,
            rule_type="any_approver",
        )
        state.store.insert(APPROVAL_RULES, rule)


def register_tables(state: Any) -> None:
    """Register every MR table with the store."""
    for table, cls in RECORDS.items():
        state.store.register(table, cls)


def setup(app: web.Application) -> None:
    """Register the MR tables, the branch listener and every MR route."""
    state = app[http.STATE_KEY]
    register_tables(state)
    pushes.listen(state)

    app.router.add_get(MR_PATH, list_mrs)
    app.router.add_post(MR_PATH, create_mr)
    app.router.add_get(MR_PATH + "/{iid}", get_mr)
    app.router.add_put(MR_PATH + "/{iid}", updating.update_mr)
    for module in (reads, merging, approving, notes, emoji):
        module.setup(app, MR_PATH + "/{iid}")
    label_routes.setup(app)
