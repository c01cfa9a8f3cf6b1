"""``PUT .../merge`` and auto-merge: checks in GitLab's order, then a real merge.

Order (gitlab-api.md 4.5): 401 when the user cannot merge into the target,
409 when ``sha`` is not the MR head, squash stored, auto-merge, then 405
when the MR is not mergeable and 422 when git cannot merge it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.sandbox import gitdiff, http
from bot.sandbox.git import ZERO_SHA, Signature
from bot.sandbox.mr import core, service, status, views
from bot.sandbox.mr.model import MergeRequest
from bot.sandbox.records import Project, User


class MergeFailed(Exception):
    """git could not merge (conflict, or the target moved meanwhile)."""


def squash_setting(project: Project, requested: Any) -> bool:
    """The squash flag after the project's ``squash_option`` has its say."""
    if project.squash_option == "always":
        return True
    if project.squash_option == "never":
        return False
    if requested is None:
        return project.squash_option == "default_on"
    return http.to_bool(requested, "squash")


def ensure_sha(mr: MergeRequest, sha: Any) -> None:
    """409 when ``sha`` is given and is not the MR's head."""
    if sha not in (None, "") and sha != mr.sha:
        message = f"SHA does not match HEAD of source branch: {mr.sha}"
        raise http.api_error(409, message)


def wants_auto_merge(values: dict[str, Any]) -> bool:
    """``auto_merge`` or its deprecated alias ``merge_when_pipeline_succeeds``."""
    flags = (values.get("auto_merge"), values.get("merge_when_pipeline_succeeds"))
    return any(flag is not None and http.to_bool(flag, "auto_merge") for flag in flags)


async def merge_mr(request: web.Request) -> web.Response:
    """PUT merge: refuse, schedule an auto-merge, or merge now."""
    state, project, mr = service.mr_of(request)
    user = http.current_user(request)
    values = await http.params(request)

    if not core.can_merge_into(state, user, project, mr.target_branch):
        raise http.api_error(401, "401 Unauthorized")
    ensure_sha(mr, values.get("sha"))
    if values.get("squash") is not None and http.to_bool(values["squash"], "squash"):
        mr.squash = squash_setting(project, True)
    if values.get("should_remove_source_branch") is not None:
        flag = values["should_remove_source_branch"]
        mr.should_remove_source_branch = http.to_bool(
            flag, "should_remove_source_branch"
        )

    if wants_auto_merge(values) and await maybe_schedule(state, project, mr, user):
        return service.respond(request, project, mr)

    if not status.is_mergeable(views.facts(state, project, mr)):
        raise http.api_error(405, "405 Method Not Allowed")
    try:
        await merge_now(state, project, mr, user, values.get("merge_commit_message"))
    except MergeFailed as error:
        mr.merge_error = str(error)
        raise http.api_error(422, "Branch cannot be merged") from error
    return service.respond(request, project, mr)


def waits_for_checks(checked: status.MergeFacts) -> bool:
    """Whether only a running pipeline or missing approvals block the merge."""
    detailed = status.detailed_merge_status(checked)
    return detailed in ("ci_still_running", "not_approved")


async def maybe_schedule(
    state: Any, project: Project, mr: MergeRequest, user: User
) -> bool:
    """Store an auto-merge when checks are still pending; False to merge now."""
    checked = views.facts(state, project, mr)
    if mr.state != "opened" or not waits_for_checks(checked):
        return False

    mr.merge_when_pipeline_succeeds = True
    mr.merge_user_id = user.id
    note = f"enabled an automatic merge when all merge checks for {mr.sha} pass"
    service.system_note(state, mr, user.id, note)
    service.touch(mr)
    return True


async def maybe_auto_merge(state: Any, project: Project, mr: MergeRequest) -> bool:
    """Merge an MR with auto-merge set once it is mergeable (True when merged).

    Called after approvals; part 2 calls it when a head pipeline succeeds.
    """
    if not mr.merge_when_pipeline_succeeds or mr.state != "opened":
        return False
    if not status.is_mergeable(views.facts(state, project, mr)):
        return False

    merger = core.user(state, mr.merge_user_id)
    if merger is None or not core.can_merge_into(
        state, merger, project, mr.target_branch
    ):
        return False
    try:
        await merge_now(state, project, mr, merger, None)
    except MergeFailed as error:
        mr.merge_error = str(error)
        return False
    return True


def signature(user: User) -> Signature:
    """The merging user as git author and committer."""
    return Signature(user.name, user.email, datetime.now(UTC))


def merge_message(state: Any, project: Project, mr: MergeRequest) -> str:
    """GitLab's default merge commit message."""
    full = views.references(state, project, mr)["full"]
    return (
        f"Merge branch '{mr.source_branch}' into '{mr.target_branch}'\n\n"
        f"{mr.title}\n\nSee merge request {full}"
    )


def build_result(
    state: Any, project: Project, mr: MergeRequest, user: User, message: str | None
) -> tuple[str, str, str | None, str | None]:
    """Write the merged commit: (old target, new target, merge sha, squash sha)."""
    repo = core.repository(state, project)
    target, source = repo.head(mr.target_branch), repo.head(mr.source_branch)
    if target is None or source is None:
        raise MergeFailed("Source or target branch is missing")

    author = signature(user)
    squash_sha = None
    if mr.squash:
        base = repo.merge_base(target, source) or target
        squash_sha = gitdiff.squash(repo, base, source, mr.title, author)
        source = squash_sha

    if project.merge_method == "ff":
        if not gitdiff.can_fast_forward(repo, target, source):
            raise MergeFailed("Fast-forward merge is not possible")
        return target, source, None, squash_sha

    merged = gitdiff.merge(
        repo, target, source, message or merge_message(state, project, mr), author
    )
    if isinstance(merged, gitdiff.Conflict):
        raise MergeFailed("Merge conflicts in " + ", ".join(merged.paths))
    return target, merged, merged, squash_sha


async def merge_now(
    state: Any, project: Project, mr: MergeRequest, user: User, message: str | None
) -> None:
    """Merge for real: move the target ref, record, hook, maybe drop the source."""
    before, after, merge_sha, squash_sha = build_result(
        state, project, mr, user, message
    )
    repo = core.repository(state, project)
    if not repo.set_ref(f"refs/heads/{mr.target_branch}", after, before):
        raise MergeFailed("The target branch moved during the merge")

    now = http.iso()
    mr.state, mr.merged_at, mr.merged_by_id = "merged", now, user.id
    mr.merge_user_id = mr.merge_user_id or user.id
    mr.merge_commit_sha, mr.squash_commit_sha = merge_sha, squash_sha
    mr.merge_when_pipeline_succeeds, mr.merge_error = False, None
    mr.checking_reads_left = 0
    service.touch(mr)
    service.system_note(state, mr, user.id, "merged")

    await core.branch_moved(state, project, user, mr.target_branch, before, after)
    await service.emit_mr(state, project, mr, user, "merge")
    await maybe_remove_source(state, project, mr, user)


async def maybe_remove_source(
    state: Any, project: Project, mr: MergeRequest, user: User
) -> None:
    """Delete the source branch when asked, unless protected or the default."""
    wanted = mr.should_remove_source_branch
    if wanted is None:
        wanted = mr.force_remove_source_branch
    branch = mr.source_branch
    if not wanted or branch == project.default_branch:
        return
    if core.protection(state, project, branch) is not None:
        return

    repo = core.repository(state, project)
    head = repo.head(branch)
    if head is not None and repo.delete_ref(f"refs/heads/{branch}", head):
        await core.branch_moved(state, project, user, branch, head, ZERO_SHA)


async def cancel_auto_merge(request: web.Request) -> web.Response:
    """POST cancel_merge_when_pipeline_succeeds."""
    state, project, mr = service.mr_of(request)
    user = http.current_user(request)
    may_merge = core.can_merge_into(state, user, project, mr.target_branch)
    if not may_merge and user.id != mr.author_id:
        raise http.api_error(401, "401 Unauthorized")
    if mr.state == "closed":
        raise http.api_error(406, "Can't cancel the automatic merge")

    if mr.merge_when_pipeline_succeeds:
        mr.merge_when_pipeline_succeeds = False
        mr.merge_user_id = None
        service.system_note(state, mr, user.id, "canceled the automatic merge")
        service.touch(mr)
    return web.json_response({"status": "success"}, status=201)


def setup(app: web.Application, mr_path: str) -> None:
    """Register the merge routes."""
    app.router.add_put(mr_path + "/merge", merge_mr)
    app.router.add_post(
        mr_path + "/cancel_merge_when_pipeline_succeeds", cancel_auto_merge
    )
