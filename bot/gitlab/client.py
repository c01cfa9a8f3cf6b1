"""The async facade over GitLab: the only place that talks to it.

One instance serves one GitOps project. Every method is one intention,
named by its kind of action (``fetch_`` reads, ``ensure_`` checks then acts
at most once); each makes the HTTP calls its docstring says, through
``Transport`` (threads, bounded concurrency, one retry layer, counting).
Identifiers are URL-encoded as one path segment, slashes and dots
included (``apps%2Fmy.app%2Fvalues.yaml``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gitlab
import structlog

from bot.gitlab.api import ProjectApi
from bot.gitlab.calls import CallCounter, RetryPolicy, Transport
from bot.gitlab.errors import (
    GitLabCallError,
    GitLabConflict,
    GitLabNotFound,
    GitLabRejected,
    GitLabUnavailable,
)
from bot.gitlab.models import (
    Branch,
    Commit,
    DiffVersion,
    FileAction,
    MergeRequest,
    ProjectSettings,
    RepositoryFile,
    parse_branch,
    parse_commit,
    parse_diff_version,
    parse_file,
    parse_merge_request,
    parse_project_settings,
)
from bot.gitlab.paths import MR, encode
from bot.gitlab.paths import mr_path as _mr
from bot.gitlab.reviews import ReviewCalls, Tier

log = structlog.get_logger(__name__)

PER_PAGE = 100
# The answers to a merge that the retry of a merge already done may get.
MERGE_REFUSALS = frozenset({405, 406, 409, 422})


@dataclass(frozen=True)
class NewMergeRequest:
    """What a new merge request is made of."""

    source_branch: str
    target_branch: str
    title: str
    description: str
    labels: tuple[str, ...]
    reviewer_ids: tuple[int, ...] = ()
    remove_source_branch: bool = True


class GitLab(ReviewCalls):
    """Intention-revealing async calls on one GitLab project.

    Repository and merge request calls live here; notes, approvals, people
    and pipelines in ``ReviewCalls``. ``tier`` (``auto``, ``free``,
    ``premium``) says whether approval rules exist; see ``ReviewCalls``.
    """

    def __init__(
        self,
        url: str,
        token: str,
        project: str,
        *,
        timeout_seconds: float = 10.0,
        max_concurrent_calls: int = 8,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        per_page: int = PER_PAGE,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tier: Tier = "auto",
    ) -> None:
        client = gitlab.Gitlab(url, private_token=token, timeout=timeout_seconds)
        transport = Transport(
            client,
            max_concurrent_calls=max_concurrent_calls,
            policy=policy or RetryPolicy(),
            counter=counter,
            sleep=sleep,
        )
        super().__init__(ProjectApi(transport, project, per_page=per_page), tier=tier)
        self.project = project
        self._client = client

    @property
    def counter(self) -> CallCounter:
        """Counts of the calls made so far, by route and status."""
        return self._api.transport.counter

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.session.close()

    def __repr__(self) -> str:  # never show the token
        return f"GitLab(url={self._client.url!r}, project={self.project!r})"

    # Project

    async def fetch_project_settings(self) -> ProjectSettings:
        """Read the project's merge settings (1 call)."""
        data = await self._api.call(
            f"fetch_project_settings {self.project}", "GET /projects/:id", ""
        )
        return parse_project_settings(data)

    # Repository

    async def fetch_file(self, path: str, ref: str) -> RepositoryFile:
        """Read ``path`` at ``ref`` (1 call); ``commit_id`` is the ref's SHA."""
        data = await self._api.call(
            f"fetch_file {path}@{ref}",
            "GET /projects/:id/repository/files/:path",
            f"/repository/files/{encode(path)}",
            query={"ref": ref},
        )
        return parse_file(data)

    async def commit_branch(
        self,
        branch: str,
        *,
        start_sha: str,
        message: str,
        actions: Sequence[FileAction],
        force: bool = True,
    ) -> Commit:
        """Set ``branch`` to ``start_sha`` + ``actions`` in one commit (1 call).

        ``force`` rebuilds an existing branch in place: the branch, and the
        merge request on it, survive; it is never deleted and re-created.
        Without ``force`` an existing branch is refused (``GitLabRejected``,
        ``branch_exists``) and left as it is.
        """
        data = await self._api.call(
            f"commit_branch {branch}",
            "POST /projects/:id/repository/commits",
            "/repository/commits",
            body={
                "branch": branch,
                "start_sha": start_sha,
                "force": force,
                "commit_message": message,
                "actions": [_action_json(action) for action in actions],
            },
        )
        return parse_commit(data)

    async def delete_branch(self, name: str) -> None:
        """Delete a branch (1 call); one already gone counts as deleted."""
        try:
            await self._api.call(
                f"delete_branch {name}",
                "DELETE /projects/:id/repository/branches/:branch",
                f"/repository/branches/{encode(name)}",
            )
        except GitLabNotFound:
            return

    async def fetch_commit(self, sha: str) -> Commit:
        """Read one commit, with its committed date (1 call)."""
        data = await self._api.call(
            f"fetch_commit {sha[:12]}",
            "GET /projects/:id/repository/commits/:sha",
            f"/repository/commits/{encode(sha)}",
        )
        return parse_commit(data)

    async def fetch_branch(self, name: str) -> Branch:
        """Read a branch: its head and the head's parents (1 call)."""
        data = await self._api.call(
            f"fetch_branch {name}",
            "GET /projects/:id/repository/branches/:branch",
            f"/repository/branches/{encode(name)}",
        )
        return parse_branch(data)

    async def fetch_compare_messages(
        self,
        project: str,
        start: str,
        end: str,
        *,
        deadline_seconds: float | None = None,
    ) -> tuple[str, ...]:
        """The messages of the commits of ``project`` (any project the token
        may read) reachable from ``end`` and not from ``start``, oldest first
        (1 call: the compare API, which also sends the diffs)."""
        data = await self._api.call(
            f"fetch_compare_messages {project} {start}...{end}",
            "GET /projects/:id/repository/compare",
            f"/projects/{encode(project)}/repository/compare",
            query={"from": start, "to": end},
            absolute=True,
            deadline_seconds=deadline_seconds,
        )
        commits = data.get("commits") if isinstance(data, dict) else None
        return tuple(
            str(commit.get("message") or commit.get("title") or "")
            for commit in commits or ()
            if isinstance(commit, dict)
        )

    # Merge requests

    async def fetch_open_merge_requests(
        self,
        target_branch: str,
        *,
        source_branch: str | None = None,
        labels: Sequence[str] = (),
    ) -> tuple[MergeRequest, ...]:
        """List the open MRs into ``target_branch`` carrying every one of
        ``labels``, oldest first, ALL pages (1 call per page)."""
        query = {"state": "opened", "target_branch": target_branch, "sort": "asc"}
        if source_branch is not None:
            query["source_branch"] = source_branch
        if labels:
            query["labels"] = ",".join(labels)
        items = await self._api.fetch_all(
            f"fetch_open_merge_requests into {target_branch}",
            "GET /projects/:id/merge_requests",
            "/merge_requests",
            query,
        )
        return tuple(map(parse_merge_request, items))

    async def fetch_merge_request(self, iid: int) -> MergeRequest:
        """Read one merge request, with its head pipeline (1 call)."""
        data = await self._api.call(
            f"fetch_merge_request !{iid}", f"GET {MR}", _mr(iid)
        )
        return parse_merge_request(data)

    async def fetch_merge_request_versions(
        self, iid: int, *, newest: int | None = None
    ) -> tuple[DiffVersion, ...]:
        """The diff versions of a merge request, newest first: every page
        (1 call per page), or only the ``newest`` few, at most 100 (1 call)."""
        step, route = f"fetch_merge_request_versions !{iid}", f"GET {MR}/versions"
        path = f"{_mr(iid)}/versions"
        if newest is None:
            items = await self._api.fetch_all(step, route, path, {})
        else:
            query = {"page": 1, "per_page": max(1, min(newest, PER_PAGE))}
            items = await self._api.call(step, route, path, query=query)
        return tuple(map(parse_diff_version, items or ()))

    async def create_merge_request(self, new: NewMergeRequest) -> MergeRequest:
        """Open a merge request (1 call); ``GitLabConflict.existing_iid`` names
        the open one when the source branch already has it."""
        data = await self._api.call(
            f"create_merge_request from {new.source_branch}",
            "POST /projects/:id/merge_requests",
            "/merge_requests",
            body={
                "source_branch": new.source_branch,
                "target_branch": new.target_branch,
                "title": new.title,
                "description": new.description,
                "labels": ",".join(new.labels),
                "reviewer_ids": list(new.reviewer_ids),
                "remove_source_branch": new.remove_source_branch,
            },
        )
        return parse_merge_request(data)

    async def update_merge_request(self, iid: int, **fields: Any) -> MergeRequest:
        """Change title, description, labels, reviewer_ids, state_event (1 call)."""
        if isinstance(fields.get("labels"), tuple | list):
            fields["labels"] = ",".join(fields["labels"])
        data = await self._api.call(
            f"update_merge_request !{iid}", f"PUT {MR}", _mr(iid), body=fields
        )
        return parse_merge_request(data)

    async def close_merge_request(self, iid: int) -> MergeRequest:
        """Close a merge request (1 call); its branch is left alone."""
        return await self.update_merge_request(iid, state_event="close")

    async def merge(
        self, iid: int, sha: str, *, auto_merge: bool = False
    ) -> MergeRequest:
        """Merge exactly ``sha`` (1 call): 409 ``GitLabConflict`` if the head moved.

        ``auto_merge`` asks GitLab to merge when the pipeline succeeds instead.
        The retry after a lost answer may find the merge done (405), and a
        lost answer may outlast the deadline: after a 405/406/409/422 or
        ``GitLabUnavailable`` the MR is read once (1 call), and when it is
        merged at ``sha`` with a merge commit, that is the answer.
        """
        query: dict[str, Any] = {"sha": sha}
        if auto_merge:
            query["merge_when_pipeline_succeeds"] = True
        try:
            data = await self._api.call(
                f"merge !{iid} at {sha[:12]}",
                f"PUT {MR}/merge",
                f"{_mr(iid)}/merge",
                query=query,
            )
        except (GitLabConflict, GitLabRejected, GitLabUnavailable) as error:
            merged = await self._merged_after(error, iid, sha)
            if merged is None:
                raise
            return merged
        return parse_merge_request(data)

    async def _merged_after(
        self, error: GitLabCallError, iid: int, sha: str
    ) -> MergeRequest | None:
        """``!iid`` read again after ``error`` on its merge, if it is merged at
        ``sha`` (by an attempt whose answer was lost); else None."""
        if error.status not in MERGE_REFUSALS and not isinstance(
            error, GitLabUnavailable
        ):
            return None
        mr = await self.fetch_merge_request(iid)
        if mr.state != "merged" or not mr.merge_commit_sha or mr.sha != sha:
            return None
        log.info("merge found done", iid=iid, sha=sha, after=error.status)
        return mr

    async def cancel_auto_merge(self, iid: int) -> None:
        """Cancel GitLab's auto-merge (1 call); 405 when none was set."""
        await self._api.call(
            f"cancel_auto_merge !{iid}",
            f"POST {MR}/cancel_merge_when_pipeline_succeeds",
            f"{_mr(iid)}/cancel_merge_when_pipeline_succeeds",
        )


def _action_json(action: FileAction) -> dict[str, Any]:
    """One Commits API action as JSON."""
    data: dict[str, Any] = {"action": action.action, "file_path": action.path}
    if action.content is not None:
        data["content"] = action.content
    return data
