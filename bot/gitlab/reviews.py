"""The calls around a merge request's review: notes, emoji, approvals,
people, pipelines. ``client.GitLab`` extends ``ReviewCalls`` with the
repository and merge request calls; both ask through one ``ProjectApi``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from bot.gitlab.api import ProjectApi
from bot.gitlab.errors import GitLabNotFound, GitLabRejected
from bot.gitlab.models import (
    ApprovalRule,
    Approvals,
    AwardEmoji,
    Job,
    Note,
    parse_approvals,
    parse_award,
    parse_job,
    parse_note,
)
from bot.gitlab.paths import MR, encode
from bot.gitlab.paths import mr_path as _mr

Tier = Literal["auto", "free", "premium"]
NOTES_PAGE = 20  # notes read to find one whose answer was lost


class ReviewCalls:
    """Notes, emoji, approvals, users, groups, members and pipelines.

    ``tier`` says whether merge request approval rules exist (``premium``),
    do not (``free``: no call is made), or are found out from GitLab's
    first answer (``auto``: a 404 on the route means Free).
    """

    def __init__(self, api: ProjectApi, *, tier: Tier = "auto") -> None:
        self._api = api
        self._tier = tier
        self._has_approval_rules = tier != "free"
        self._user_ids: dict[str, int] = {}
        self._group_ids: dict[str, int] = {}
        self._current_user: tuple[int, str] | None = None

    async def fetch_notes(self, iid: int) -> tuple[Note, ...]:
        """Every note of a merge request, newest first (1 call per page)."""
        items = await self._api.fetch_all(
            f"fetch_notes !{iid}",
            f"GET {MR}/notes",
            f"{_mr(iid)}/notes",
            {"sort": "desc", "order_by": "created_at"},
        )
        return tuple(map(parse_note, items))

    async def fetch_note_awards(self, iid: int, note_id: int) -> tuple[AwardEmoji, ...]:
        """The award emoji on one note of a merge request (1 call per page)."""
        items = await self._api.fetch_all(
            f"fetch_note_awards !{iid} note {note_id}",
            f"GET {MR}/notes/:note_id/award_emoji",
            f"{_mr(iid)}/notes/{note_id}/award_emoji",
            {},
        )
        return tuple(map(parse_award, items))

    async def post_note(self, iid: int, body: str) -> Note:
        """Comment on a merge request (1 call).

        GitLab has no idempotency key for notes: before a retry after a 5xx
        or a lost answer, the newest notes are read (1 call, and the token's
        user once per process), and a note by the bot with this very body
        is taken as the one posted instead of posting it again.
        """

        async def posted() -> dict[str, Any] | None:
            return await self._newest_note_of_ours(iid, body)

        data = await self._api.call(
            f"post_note on !{iid}",
            f"POST {MR}/notes",
            f"{_mr(iid)}/notes",
            body={"body": body},
            recover=posted,
        )
        return parse_note(data)

    async def _newest_note_of_ours(self, iid: int, body: str) -> dict[str, Any] | None:
        """The newest note on ``!iid`` by the token's user with ``body``, among
        the newest page of notes (1 call)."""
        user_id, _ = await self.fetch_current_user()
        notes = await self._api.call(
            f"fetch_notes !{iid} (was the note posted?)",
            f"GET {MR}/notes",
            f"{_mr(iid)}/notes",
            query={"sort": "desc", "order_by": "created_at", "per_page": NOTES_PAGE},
        )
        for data in notes or ():
            note = parse_note(data)
            if note.author_id == user_id and note.body == body:
                return dict(data)
        return None

    async def award_emoji(
        self, iid: int, name: str, note_id: int | None = None
    ) -> None:
        """React with ``name`` on the merge request or one of its notes (1 call);
        an award already given counts as done."""
        path = _mr(iid) + (f"/notes/{note_id}" if note_id is not None else "")
        route = f"POST {MR}" + ("/notes/:note_id" if note_id is not None else "")
        try:
            await self._api.call(
                f"award_emoji {name} on !{iid}",
                f"{route}/award_emoji",
                f"{path}/award_emoji",
                body={"name": name},
            )
        except GitLabNotFound as error:
            if "already been taken" not in error.detail:
                raise

    # Approvals

    async def fetch_approvals(self, iid: int) -> Approvals:
        """Who approved the merge request (1 call)."""
        data = await self._api.call(
            f"fetch_approvals !{iid}", f"GET {MR}/approvals", f"{_mr(iid)}/approvals"
        )
        return parse_approvals(data)

    async def ensure_approval_rule(
        self, iid: int, rule: ApprovalRule, *, is_new: bool = False
    ) -> bool:
        """Add ``rule`` to the merge request unless one of that name exists.

        1 call for a merge request just opened (``is_new``: it has no rule of
        ours yet), else 2; none on the ``free`` tier. Returns whether a rule
        was added. With tier ``auto``, a 404 for the route (not for the MR)
        means Free: remembered, and no call is made again. With ``premium``
        that 404 is an error naming the setting.
        """
        path = f"{_mr(iid)}/approval_rules"
        if not self._has_approval_rules:
            return False
        try:
            return await self._add_approval_rule(iid, rule, path, is_new)
        except GitLabNotFound as error:
            if error.detail != "404 Not Found":  # the MR itself is missing
                raise
            if self._tier == "premium":
                raise GitLabNotFound(
                    error.step,
                    404,
                    "no approval rules route on this GitLab, yet gitlab.tier "
                    "is premium; set it to auto or free",
                ) from error
            self._has_approval_rules = False
            return False

    async def _add_approval_rule(
        self, iid: int, rule: ApprovalRule, path: str, is_new: bool
    ) -> bool:
        """Fetch the rules unless ``is_new``; create ours when absent."""
        if not is_new:
            rules = await self._api.call(
                f"fetch_approval_rules !{iid}", f"GET {MR}/approval_rules", path
            )
            if any(existing.get("name") == rule.name for existing in rules or ()):
                return False
        try:
            await self._api.call(
                f"ensure_approval_rule {rule.name!r} on !{iid}",
                f"POST {MR}/approval_rules",
                path,
                body=_rule_json(rule),
            )
        except GitLabRejected as error:
            if "already been taken" not in error.detail:
                raise
            return False
        return True

    # Users and groups: ids never change, so each name costs one call per process

    async def fetch_user_ids(self, usernames: Sequence[str]) -> tuple[int, ...]:
        """The ids of ``usernames`` (1 call per name not seen before)."""
        for name in usernames:
            if name not in self._user_ids:
                users = await self._api.call(
                    f"fetch_user_ids {name}",
                    "GET /users",
                    "/users",
                    query={"username": name},
                    absolute=True,
                )
                if not users:
                    raise GitLabNotFound(f"fetch_user_ids {name}", 404, "no such user")
                self._user_ids[name] = int(users[0]["id"])
        return tuple(self._user_ids[name] for name in usernames)

    async def fetch_group_ids(self, paths: Sequence[str]) -> tuple[int, ...]:
        """The ids of the groups at ``paths`` (1 call per path not seen before)."""
        for path in paths:
            if path not in self._group_ids:
                group = await self._api.call(
                    f"fetch_group_ids {path}",
                    "GET /groups/:id",
                    f"/groups/{encode(path)}",
                    absolute=True,
                )
                self._group_ids[path] = int(group["id"])
        return tuple(self._group_ids[path] for path in paths)

    # Pipelines and members

    async def fetch_pipeline_jobs(self, pipeline_id: int) -> tuple[Job, ...]:
        """List every job of a pipeline (1 call per 100 jobs)."""
        items = await self._api.fetch_all(
            f"fetch_pipeline_jobs #{pipeline_id}",
            "GET /projects/:id/pipelines/:pipeline_id/jobs",
            f"/pipelines/{pipeline_id}/jobs",
            {},
        )
        return tuple(map(parse_job, items))

    async def retry_pipeline(self, pipeline_id: int) -> None:
        """Retry the failed and canceled jobs of a pipeline (1 call)."""
        await self._api.call(
            f"retry_pipeline #{pipeline_id}",
            "POST /projects/:id/pipelines/:pipeline_id/retry",
            f"/pipelines/{pipeline_id}/retry",
        )

    async def fetch_current_user(self) -> tuple[int, str]:
        """The id and username of the token's user (1 call per process)."""
        if self._current_user is None:
            data = await self._api.call(
                "fetch_current_user", "GET /user", "/user", absolute=True
            )
            self._current_user = (int(data["id"]), str(data["username"]))
        return self._current_user

    async def fetch_group_member_access(self, group: str, user_id: int) -> int:
        """The user's access level in ``group``, inherited included; 0 if none
        (1 call)."""
        return await self._access_level(
            f"fetch_group_member_access {group} user {user_id}",
            "GET /groups/:id/members/all/:user_id",
            f"/groups/{encode(group)}/members/all/{user_id}",
            absolute=True,
        )

    async def fetch_member_access(self, user_id: int) -> int:
        """The user's access level in the project, inherited included; 0 if none
        (1 call)."""
        return await self._access_level(
            f"fetch_member_access user {user_id}",
            "GET /projects/:id/members/all/:user_id",
            f"/members/all/{user_id}",
        )

    async def _access_level(
        self, step: str, route: str, path: str, *, absolute: bool = False
    ) -> int:
        """Read a member's ``access_level``; not a member (404) is 0."""
        try:
            data = await self._api.call(step, route, path, absolute=absolute)
        except GitLabNotFound:
            return 0
        return int(data.get("access_level") or 0)


def _rule_json(rule: ApprovalRule) -> dict[str, Any]:
    """An approval rule as the create endpoint takes it."""
    data: dict[str, Any] = {
        "name": rule.name,
        "approvals_required": rule.approvals_required,
    }
    if rule.usernames:
        data["usernames"] = list(rule.usernames)
    if rule.group_ids:
        data["group_ids"] = list(rule.group_ids)
    return data
