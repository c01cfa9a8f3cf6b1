"""Approval routes: approvals, approve, unapprove, reset, and premium rules.

Free answers the premium-only routes (``approval_state``,
``approval_rules``) with the route-not-found 404 of a CE build.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.mr import approvals, core, merging, rules, service, status, views
from bot.sandbox.mr.model import (
    APPROVAL_RULES,
    APPROVALS,
    Approval,
    ApprovalRule,
    MergeRequest,
)
from bot.sandbox.mr.rules import RuleState
from bot.sandbox.records import DEVELOPER, Project, User


def answer(
    request: web.Request, project: Project, mr: MergeRequest, status_code: int = 200
) -> web.Response:
    """The approvals entity of ``mr`` as seen by the caller."""
    state = core.state_of(request)
    merge_status = status.merge_status(views.facts(state, project, mr))
    viewer = http.optional_user(request)
    body = approvals.render_approvals(state, project, mr, merge_status, viewer)
    return web.json_response(body, status=status_code)


def ensure_may_approve(
    request: web.Request, project: Project, mr: MergeRequest
) -> User:
    """``approve_merge_request``: developers and the author, else 403."""
    user = http.current_user(request)
    level = core.access_level(core.state_of(request), user, project)
    if level < DEVELOPER and user.id != mr.author_id:
        raise http.forbidden()
    return user


async def get_approvals(request: web.Request) -> web.Response:
    """GET .../approvals."""
    _, project, mr = service.mr_of(request)
    return answer(request, project, mr)


async def approve(request: web.Request) -> web.Response:
    """POST .../approve: sha guard 409, repeat 304, ineligible 401, else 201."""
    state, project, mr = service.mr_of(request)
    user = ensure_may_approve(request, project, mr)
    values = await http.params(request)
    merging.ensure_sha(mr, values.get("sha"))
    if approvals.approval_by(state, mr, user.id) is not None:
        raise web.HTTPNotModified()
    if mr.state != "opened" or not approvals.is_eligible_approver(
        state, project, mr, user
    ):
        raise http.api_error(401, "401 Unauthorized")

    state.store.insert(
        APPROVALS, Approval(mr_id=mr.id, user_id=user.id, created_at=http.iso())
    )
    service.system_note(state, mr, user.id, "approved this merge request")
    left = approvals.approvals_left(state, project, mr)
    action = rules.approve_action(core.is_premium(state), left)
    await service.emit_mr(state, project, mr, user, action)
    await merging.maybe_auto_merge(state, project, mr)
    return answer(request, project, mr, 201)


async def unapprove(request: web.Request) -> web.Response:
    """POST .../unapprove: 304 when the caller had not approved, else 201."""
    state, project, mr = service.mr_of(request)
    user = ensure_may_approve(request, project, mr)
    approval = approvals.approval_by(state, mr, user.id)
    if approval is None:
        raise web.HTTPNotModified()

    before = approvals.approvals_left(state, project, mr)
    state.store.delete(APPROVALS, approval.id)
    service.system_note(state, mr, user.id, "unapproved this merge request")
    after = approvals.approvals_left(state, project, mr)
    action = rules.unapprove_action(core.is_premium(state), before, after)
    await service.emit_mr(state, project, mr, user, action)
    return answer(request, project, mr, 201)


def reset(state: Any, mr: MergeRequest) -> int:
    """Drop every approval of ``mr``; return how many there were."""
    found = approvals.approvals_of(state, mr)
    for approval in found:
        state.store.delete(APPROVALS, approval.id)
    return len(found)


async def reset_approvals(request: web.Request) -> web.Response:
    """PUT .../reset_approvals: 202 for a project bot that may update the MR.

    Humans, bots below Developer and merged MRs get 401, as GitLab's
    ``reset_merge_request_approvals`` ability and its ``merged?`` check. The
    body is ``202``: Grape renders the value of ``status :accepted``.
    """
    state, project, mr = service.mr_of(request)
    user = http.current_user(request)
    level = core.access_level(state, user, project)
    if not core.is_bot(user) or level < DEVELOPER or mr.state == "merged":
        raise http.api_error(401, "401 Unauthorized")

    reset(state, mr)
    return web.json_response(202, status=202)


def premium_only(request: web.Request) -> None:
    """On free these routes do not exist (CE answers Grape's 404)."""
    if not core.is_premium(core.state_of(request)):
        raise http.grape_error(404, "404 Not Found")


def states_by_id(
    state: Any, project: Project, mr: MergeRequest
) -> dict[int, RuleState]:
    """The rule states of ``mr`` keyed by rule id."""
    return {s.rule.id: s for s in approvals.rule_states(state, project, mr)}


async def get_approval_state(request: web.Request) -> web.Response:
    """GET .../approval_state (premium)."""
    premium_only(request)
    state, project, mr = service.mr_of(request)
    return web.json_response(approvals.render_approval_state(state, project, mr))


async def list_rules(request: web.Request) -> web.Response:
    """GET .../approval_rules (premium)."""
    premium_only(request)
    state, project, mr = service.mr_of(request)
    found = list(states_by_id(state, project, mr).values())
    return http.paginate(
        request, found, lambda s: approvals.render_rule(state, s, False)
    )


def rule_of(request: web.Request) -> tuple[Any, Project, MergeRequest, ApprovalRule]:
    """The rule named in the URL (404 when it is not the MR's)."""
    premium_only(request)
    state, project, mr = service.mr_of(request)
    rule = state.store.get(
        APPROVAL_RULES, http.to_int(request.match_info["rule_id"], "approval_rule_id")
    )
    if rule is None or rule.mr_id != mr.id:
        raise http.api_error(404, "404 Not found")
    return state, project, mr, rule


def rule_answer(
    state: Any, project: Project, mr: MergeRequest, rule: ApprovalRule, code: int
) -> web.Response:
    """The rule entity."""
    rule_state = states_by_id(state, project, mr)[rule.id]
    return web.json_response(
        approvals.render_rule(state, rule_state, False), status=code
    )


def assign_rule(state: Any, rule: ApprovalRule, values: dict[str, Any]) -> None:
    """Apply name, approvals_required, user_ids, usernames and group_ids."""
    if values.get("name") not in (None, ""):
        rule.name = str(values["name"])
    if values.get("approvals_required") is not None:
        required = http.to_int(values["approvals_required"], "approvals_required")
        if required < 0:
            raise http.api_error(
                400, {"approvals_required": ["must be greater than or equal to 0"]}
            )
        rule.approvals_required = required
    if "user_ids" in values or "usernames" in values:
        rule.user_ids = rule_users(state, values)
    if "group_ids" in values:
        ids = [http.to_int(i, "group_ids") for i in values.get("group_ids") or []]
        rule.group_ids = [i for i in ids if state.store.get("groups", i) is not None]


def rule_users(state: Any, values: dict[str, Any]) -> list[int]:
    """User ids from ``user_ids`` and ``usernames``."""
    ids = [http.to_int(i, "user_ids") for i in values.get("user_ids") or []]
    for name in values.get("usernames") or []:
        ids += [record.id for record in state.store.find("users", username=name)]
    return [i for i in dict.fromkeys(ids) if core.user(state, i) is not None]


async def create_rule(request: web.Request) -> web.Response:
    """POST .../approval_rules (premium): name and approvals_required required."""
    premium_only(request)
    state, project, mr = service.mr_of(request)
    ensure_may_approve(request, project, mr)
    values = await http.params(request)
    http.require(values, "name", "approvals_required")

    rule = ApprovalRule(mr_id=mr.id, name="", approvals_required=0)
    assign_rule(state, rule, values)
    state.store.insert(APPROVAL_RULES, rule)
    await merging.maybe_auto_merge(state, project, mr)
    return rule_answer(state, project, mr, rule, 201)


async def get_rule(request: web.Request) -> web.Response:
    """GET .../approval_rules/:id (premium)."""
    state, project, mr, rule = rule_of(request)
    return rule_answer(state, project, mr, rule, 200)


async def update_rule(request: web.Request) -> web.Response:
    """PUT .../approval_rules/:id (premium); report/code-owner rules refuse."""
    state, project, mr, rule = rule_of(request)
    ensure_may_approve(request, project, mr)
    if rule.rule_type in ("report_approver", "code_owner"):
        raise http.forbidden()
    assign_rule(state, rule, await http.params(request))
    await merging.maybe_auto_merge(state, project, mr)
    return rule_answer(state, project, mr, rule, 200)


async def delete_rule(request: web.Request) -> web.Response:
    """DELETE .../approval_rules/:id (premium)."""
    state, project, mr, rule = rule_of(request)
    ensure_may_approve(request, project, mr)
    state.store.delete(APPROVAL_RULES, rule.id)
    await merging.maybe_auto_merge(state, project, mr)
    return web.Response(status=204)


def setup(app: web.Application, mr_path: str) -> None:
    """Register the approval routes."""
    app.router.add_get(mr_path + "/approvals", get_approvals)
    app.router.add_post(mr_path + "/approve", approve)
    app.router.add_post(mr_path + "/unapprove", unapprove)
    app.router.add_put(mr_path + "/reset_approvals", reset_approvals)
    app.router.add_get(mr_path + "/approval_state", get_approval_state)
    rules_path = mr_path + "/approval_rules"
    app.router.add_get(rules_path, list_rules)
    app.router.add_post(rules_path, create_rule)
    app.router.add_get(rules_path + "/{rule_id}", get_rule)
    app.router.add_put(rules_path + "/{rule_id}", update_rule)
    app.router.add_delete(rules_path + "/{rule_id}", delete_rule)
