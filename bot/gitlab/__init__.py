"""The GitLab adapter: the only place that talks to GitLab.

- ``client.GitLab``: async, intention-revealing calls on one project;
- ``calls``: threads, bounded concurrency, the one retry layer, counting;
- ``models``: GitLab's answers as our frozen values;
- ``errors``: one exception per meaning of a failed call.
"""

from bot.gitlab.calls import CallCounter, RetryPolicy
from bot.gitlab.client import GitLab, NewMergeRequest
from bot.gitlab.errors import (
    GitLabCallError,
    GitLabConflict,
    GitLabForbidden,
    GitLabNotFound,
    GitLabRejected,
    GitLabUnauthorized,
    GitLabUnavailable,
)
from bot.gitlab.models import (
    ApprovalRule,
    Approvals,
    ApprovedBy,
    AwardEmoji,
    Branch,
    Commit,
    DiffVersion,
    FileAction,
    Job,
    MergeRequest,
    Note,
    PipelineRef,
    ProjectSettings,
    RepositoryFile,
)
from bot.gitlab.paths import encode

__all__ = [
    "ApprovalRule",
    "ApprovedBy",
    "Approvals",
    "AwardEmoji",
    "Branch",
    "CallCounter",
    "Commit",
    "DiffVersion",
    "FileAction",
    "GitLab",
    "GitLabCallError",
    "GitLabConflict",
    "GitLabForbidden",
    "GitLabNotFound",
    "GitLabRejected",
    "GitLabUnauthorized",
    "GitLabUnavailable",
    "Job",
    "MergeRequest",
    "NewMergeRequest",
    "Note",
    "PipelineRef",
    "ProjectSettings",
    "RepositoryFile",
    "RetryPolicy",
    "encode",
]
