"""How a stored merge request looks: its git facts and its API entity.

``refresh`` re-reads the repository after a change (heads, diff refs,
conflicts); ``facts`` gathers what ``status`` decides on; ``render`` builds
the ``MergeRequest`` (or ``MergeRequestBasic``) entity of the REST API.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import gitdiff
from bot.sandbox.mr import approvals, core, status, versions
from bot.sandbox.mr.ancestry import Pair
from bot.sandbox.mr.model import LABELS, NOTES, Label, MergeRequest
from bot.sandbox.mr.payloads import MergeRequestView, hook_label
from bot.sandbox.mr.status import MergeFacts
from bot.sandbox.records import Project

JSON = dict[str, Any]

# Full renders after a change that answer "checking" before the real status,
# as GitLab's asynchronous mergeability check does. Tests may set
# ``state.mr_checking_reads`` to 0.
CHECKING_READS = 1


def head_pipeline(state: Any, project: Project, mr: MergeRequest) -> JSON | None:
    """The MR's head pipeline entity.

    Pipelines come with part 2 (issue #4): until then there is none, so
    "pipelines must succeed" projects report ``ci_must_pass``.
    """
    finder = getattr(state, "mr_head_pipeline", None)
    return None if finder is None else finder(project, mr)


def refresh(state: Any, project: Project, mr: MergeRequest, source_moved: bool) -> None:
    """Re-read heads, diff refs and conflicts; start a new checking window.

    ``source_moved`` reloads the diff, as GitLab does on creation, a source
    push, a new target branch or a reopen: a new diff version is recorded.
    """
    repo = core.repository(state, project)
    source = repo.head(mr.source_branch)
    target = repo.head(mr.target_branch)
    if source_moved or mr.sha is None:
        mr.sha = source
        mr.start_sha = target
        mr.base_sha = repo.merge_base(target, source) if source and target else None
        versions.record(state, project, mr)

    if source and target:
        merged = gitdiff.merge_tree(repo, target, source)
        mr.has_conflicts = isinstance(merged, gitdiff.Conflict)
    else:
        mr.has_conflicts = False
    mr.checking_reads_left = getattr(state, "mr_checking_reads", CHECKING_READS)


def facts(state: Any, project: Project, mr: MergeRequest) -> MergeFacts:
    """What the mergeability of ``mr`` depends on, read now."""
    repo = core.repository(state, project)
    source = repo.head(mr.source_branch)
    target = repo.head(mr.target_branch)
    pipeline = head_pipeline(state, project, mr)
    both = None
    if source and target and mr.state == "opened":  # closed MRs are not_open
        both = core.ancestry(state).of(repo, source, target)

    return MergeFacts(
        state=mr.state,
        draft=mr.draft,
        checking=mr.checking_reads_left > 0,
        source_exists=source is not None,
        has_commits=both is not None and both.has_commits,
        has_conflicts=mr.has_conflicts,
        behind_target=both is not None and both.behind_target,
        merge_method=project.merge_method,
        pipeline_must_succeed=project.only_allow_merge_if_pipeline_succeeds,
        allow_merge_on_skipped_pipeline=project.allow_merge_on_skipped_pipeline,
        pipeline_status=None if pipeline is None else pipeline["status"],
        approvals_left=approvals.approvals_left(state, project, mr),
    )


def heads(state: Any, project: Project, mr: MergeRequest) -> Pair | None:
    """(repository, source head, target head) of ``mr``, or None if one is gone."""
    repo = core.repository(state, project)
    source = repo.head(mr.source_branch)
    target = repo.head(mr.target_branch)
    return (repo, source, target) if source and target else None


async def prefetch(state: Any, project: Project, mrs: list[MergeRequest]) -> None:
    """Compute, off the event loop, the git facts ``facts`` will need for ``mrs``."""
    pairs = [heads(state, project, mr) for mr in mrs if mr.state == "opened"]
    await core.ancestry(state).prefetch(pair for pair in pairs if pair is not None)


def labels_of(state: Any, mr: MergeRequest) -> list[Label]:
    """The label records attached to ``mr`` (deleted labels drop out)."""
    found = (state.store.get(LABELS, label_id) for label_id in mr.label_ids)
    return [label for label in found if label is not None]


def web_url(state: Any, project: Project, mr: MergeRequest) -> str:
    """The merge request's page."""
    return f"{core.project_url(state, project)}/-/merge_requests/{mr.iid}"


def references(state: Any, project: Project, mr: MergeRequest) -> JSON:
    """``references`` of the entity."""
    short = f"!{mr.iid}"
    full = f"{core.project_path(state, project)}{short}"
    return {"short": short, "relative": short, "full": full}


def user_notes_count(state: Any, mr: MergeRequest) -> int:
    """Number of non-system notes."""
    return sum(1 for note in state.store.find(NOTES, mr_id=mr.id) if not note.system)


def basic(state: Any, project: Project, mr: MergeRequest, checked: MergeFacts) -> JSON:
    """The ``MergeRequestBasic`` entity (list entries)."""
    assignees = core.users_basic(state, mr.assignee_ids)
    detailed = status.detailed_merge_status(checked)
    return {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": mr.project_id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "imported": False,
        "imported_from": "none",
        "created_at": mr.created_at,
        "updated_at": mr.updated_at,
        "merged_by": core.user_basic(state, core.user(state, mr.merged_by_id)),
        "merge_user": core.user_basic(state, core.user(state, mr.merge_user_id)),
        "merged_at": mr.merged_at,
        "merge_after": None,
        "prepared_at": mr.created_at,
        "closed_by": core.user_basic(state, core.user(state, mr.closed_by_id)),
        "closed_at": mr.closed_at,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "user_notes_count": user_notes_count(state, mr),
        "upvotes": emoji_count(state, mr, "thumbsup"),
        "downvotes": emoji_count(state, mr, "thumbsdown"),
        "author": core.user_basic(state, core.user(state, mr.author_id)),
        "assignees": assignees,
        "assignee": assignees[0] if assignees else None,
        "reviewers": core.users_basic(state, mr.reviewer_ids),
        "source_project_id": mr.project_id,
        "target_project_id": mr.project_id,
        "labels": [label.name for label in labels_of(state, mr)],
        "draft": mr.draft,
        "work_in_progress": mr.draft,
        "milestone": None,
        "merge_when_pipeline_succeeds": mr.merge_when_pipeline_succeeds,
        "merge_status": status.merge_status(checked),
        "detailed_merge_status": detailed,
        "sha": mr.sha,
        "merge_commit_sha": mr.merge_commit_sha,
        "squash_commit_sha": mr.squash_commit_sha,
        "discussion_locked": None,
        "should_remove_source_branch": mr.should_remove_source_branch,
        "force_remove_source_branch": mr.force_remove_source_branch,
        "reference": f"!{mr.iid}",
        "references": references(state, project, mr),
        "web_url": web_url(state, project, mr),
        "time_stats": {
            "time_estimate": 0,
            "total_time_spent": 0,
            "human_time_estimate": None,
            "human_total_time_spent": None,
        },
        "squash": mr.squash,
        "squash_on_merge": mr.squash,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": status.has_conflicts(checked),
        "blocking_discussions_resolved": True,
        "approvals_before_merge": None,
    }


def emoji_count(state: Any, mr: MergeRequest, name: str) -> int:
    """How many ``name`` awards the merge request itself carries."""
    awards = state.store.find(
        "award_emoji", awardable_type="MergeRequest", awardable_id=mr.id, name=name
    )
    return len(awards)


def full(
    state: Any, project: Project, mr: MergeRequest, checked: MergeFacts, viewer: Any
) -> JSON:
    """The full ``MergeRequest`` entity (single reads and writes)."""
    pipeline = head_pipeline(state, project, mr)
    diff_refs = None
    if mr.sha is not None:
        diff_refs = {
            "base_sha": mr.base_sha,
            "head_sha": mr.sha,
            "start_sha": mr.start_sha,
        }

    return {
        **basic(state, project, mr, checked),
        "subscribed": False,
        "changes_count": str(changes_count(state, project, mr)),
        "latest_build_started_at": None,
        "latest_build_finished_at": None,
        "first_deployed_to_production_at": None,
        "pipeline": pipeline,
        "head_pipeline": pipeline,
        "diff_refs": diff_refs,
        "merge_error": mr.merge_error,
        "first_contribution": False,
        "user": {"can_merge": viewer_can_merge(state, project, mr, viewer)},
    }


def viewer_can_merge(
    state: Any, project: Project, mr: MergeRequest, viewer: Any
) -> bool:
    """``user.can_merge``: may the reader merge into the target branch."""
    if viewer is None:
        return False
    return core.can_merge_into(state, viewer, project, mr.target_branch)


def changes_count(state: Any, project: Project, mr: MergeRequest) -> int:
    """Files changed by the merge request's latest diff."""
    if mr.sha is None or mr.base_sha is None:
        return 0
    return len(gitdiff.diff(core.repository(state, project), mr.base_sha, mr.sha))


def take_checked(state: Any, project: Project, mr: MergeRequest) -> MergeFacts:
    """Read the facts and use up one read of the checking window."""
    checked = facts(state, project, mr)
    if mr.checking_reads_left > 0:
        mr.checking_reads_left -= 1
    return checked


def render(state: Any, project: Project, mr: MergeRequest, viewer: Any) -> JSON:
    """The full entity, using up one read of the checking window."""
    return full(state, project, mr, take_checked(state, project, mr), viewer)


def render_basic(state: Any, project: Project, mr: MergeRequest) -> JSON:
    """The list entity, using up one read of the checking window."""
    return basic(state, project, mr, take_checked(state, project, mr))


def hook_view(state: Any, project: Project, mr: MergeRequest) -> MergeRequestView:
    """Everything the webhook payloads need for ``mr`` (no checking read used)."""
    checked = facts(state, project, mr)
    return MergeRequestView(
        mr=mr,
        project=core.project_hook(state, project),
        url=web_url(state, project, mr),
        labels=[hook_label(label) for label in labels_of(state, mr)],
        last_commit=last_commit(state, project, mr),
        detailed_merge_status=status.detailed_merge_status(checked),
        merge_status=status.merge_status(checked),
        assignees=hook_people(state, mr.assignee_ids),
        reviewers=hook_people(state, mr.reviewer_ids),
    )


def hook_people(state: Any, ids: list[int]) -> list[JSON]:
    """Hook shapes of the existing users in ``ids``."""
    found = (core.user(state, user_id) for user_id in ids)
    return [core.hook_person(state, record) for record in found if record is not None]


def last_commit(state: Any, project: Project, mr: MergeRequest) -> JSON | None:
    """The ``last_commit`` block of hooks: the MR's head commit."""
    sha = mr.merge_commit_sha if mr.state == "merged" and mr.sha is None else mr.sha
    if sha is None:
        return None

    info = core.repository(state, project).commit_info(sha)
    return {
        "id": info.id,
        "message": info.message,
        "title": info.title,
        "timestamp": info.authored_date.isoformat(),
        "url": f"{core.project_url(state, project)}/-/commit/{info.id}",
        "author": {"name": info.author_name, "email": info.author_email},
    }
