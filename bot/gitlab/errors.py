"""The adapter's errors: one class per meaning of a GitLab answer.

Each error names the step (``fetch_file``, ``create_merge_request``...), the
objects involved and GitLab's own message, so that a caller can print it as
is. ``GitLabUnavailable`` is what is left of a transient fault once the retry
deadline has passed; every other class is a definite answer that retrying
would not change.
"""

from __future__ import annotations

import re

from bot.errors import GitLabError

_EXISTING_MR_RE = re.compile(r"already exists for this source branch: !(\d+)")
_BRANCH_EXISTS_RE = re.compile(r"A branch called '.*' already exists")


class GitLabCallError(GitLabError):
    """A GitLab call that failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, step: str, status: int, detail: str) -> None:
        super().__init__(f"{step}: GitLab answered {status or 'nothing'}: {detail}")
        self.step = step
        self.status = status
        self.detail = detail


class GitLabUnavailable(GitLabCallError):
    """GitLab kept failing (5xx, 429, timeouts, resets) past the retry deadline."""

    http_status = 503


class GitLabUnauthorized(GitLabCallError):
    """401: the token is missing, expired, revoked, or lacks the right."""


class GitLabForbidden(GitLabCallError):
    """403: authenticated, but not allowed (protected branch, role too low)."""


class GitLabNotFound(GitLabCallError):
    """404: the project, file, ref, merge request or route does not exist."""


class GitLabConflict(GitLabCallError):
    """409: the state moved (an open MR exists already, the head SHA changed)."""

    @property
    def existing_iid(self) -> int | None:
        """The iid of the open merge request GitLab names, if it names one."""
        found = _EXISTING_MR_RE.search(self.detail)
        return int(found.group(1)) if found else None


class GitLabRejected(GitLabCallError):
    """400, 405, 422 and other 4xx: GitLab refused the request as sent."""

    @property
    def branch_exists(self) -> bool:
        """True when the Commits API refused to start an existing branch anew
        (``start_sha`` without ``force``)."""
        return _BRANCH_EXISTS_RE.search(self.detail) is not None


_BY_STATUS: dict[int, type[GitLabCallError]] = {
    401: GitLabUnauthorized,
    403: GitLabForbidden,
    404: GitLabNotFound,
    409: GitLabConflict,
}


def error_for(step: str, status: int, detail: str) -> GitLabCallError:
    """Return the error that a definite (non-transient) answer means."""
    return _BY_STATUS.get(status, GitLabRejected)(step, status, detail)
