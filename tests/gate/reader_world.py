"""A GitLab stand-in for ``GateReader``: canned answers and a call log.

It answers only the reads the gate makes, from plain values a test sets,
and records each call so that tests can count them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Config, parse_config
from bot.gitlab import (
    Approvals,
    ApprovedBy,
    Commit,
    DiffVersion,
    Job,
    MergeRequest,
    PipelineRef,
)
from bot.record import DeployRecord, render_marker

CONFIG_PATH = Path(__file__).resolve().parent.parent / "data" / "e2e" / "bot.yaml"
BOT_ID = 99
HEAD = "def4567890abcdef1234567890abcdef12345678"
TARGET = "1111111111111111111111111111111111111111"
MERGE_COMMIT = "2222222222222222222222222222222222222222"
# When GitLab recorded HEAD as the merge request's head (a diff version).
RECORDED = "2024-05-06T10:00:00.250Z"


def config() -> Config:
    """The e2e configuration: production needs 2 approvals and integration-test."""
    text = CONFIG_PATH.read_text()
    return parse_config(text, str(CONFIG_PATH), {"GITOPS_BOT_GITLAB_URL": "http://x"})


def merge_request(pipeline: PipelineRef | None, sha: str = HEAD) -> MergeRequest:
    """An open production bot merge request !4 at ``sha``."""
    record = DeployRecord("web", "production", "registry.example.com/shop/web", "v2")
    return MergeRequest(
        iid=4, state="opened", title="Deploy", description=render_marker(record),
        labels=(), source_branch="gitops/production/web", target_branch="main",
        sha=sha, web_url="", draft=False, author_id=BOT_ID, created_at="",
        detailed_merge_status="mergeable", reviewer_ids=(), head_pipeline=pipeline,
    )  # fmt: skip


def pipeline(ref: str, sha: str, status: str = "success") -> PipelineRef:
    """A finished head pipeline on ``ref`` at ``sha``."""
    return PipelineRef(
        7, sha, status, "merge_request_event", ref, "2024-05-06T10:00:00Z",
        "2024-05-06T10:05:00Z",
    )  # fmt: skip


@dataclass
class FakeGitLab:
    """Answers the gate's reads from its fields; ``calls`` logs each read."""

    mr: MergeRequest
    commits: dict[str, Commit] = field(default_factory=dict)
    approvals: tuple[ApprovedBy, ...] = ()
    jobs: tuple[Job, ...] = ()
    calls: list[str] = field(default_factory=list)
    versions: tuple[DiffVersion, ...] = (
        DiffVersion(1, HEAD, TARGET, TARGET, RECORDED),
    )

    async def fetch_current_user(self) -> tuple[int, str]:
        """The bot (not counted: the adapter caches it)."""
        return BOT_ID, "gitops-bot"

    async def fetch_merge_request(self, iid: int) -> MergeRequest:
        """The merge request."""
        self.calls.append(f"mr {iid}")
        return self.mr

    async def fetch_approvals(self, iid: int) -> Approvals:
        """The approvals given so far."""
        self.calls.append(f"approvals {iid}")
        names = tuple(entry.username for entry in self.approvals)
        return Approvals(names, 2, max(0, 2 - len(names)), self.approvals)

    async def fetch_merge_request_versions(
        self, iid: int, *, newest: int | None = None
    ) -> tuple[DiffVersion, ...]:
        """The diff versions set by the test, newest first."""
        self.calls.append(f"versions {iid}")
        return self.versions[:newest] if newest else self.versions

    async def fetch_commit(self, sha: str) -> Commit:
        """A commit set by the test, else a plain one committed at 10:00."""
        self.calls.append(f"commit {sha[:8]}")
        plain = Commit(sha, "Deploy", (TARGET,), None, "2024-05-06T10:00:00Z")
        return self.commits.get(sha, plain)

    async def fetch_pipeline_jobs(self, pipeline_id: int) -> tuple[Job, ...]:
        """The jobs set by the test."""
        self.calls.append(f"jobs {pipeline_id}")
        return self.jobs

    async def fetch_member_access(self, user_id: int) -> int:
        """Everyone is a developer of the project."""
        self.calls.append(f"member {user_id}")
        return 30

    async def fetch_group_member_access(self, group: str, user_id: int) -> int:
        """Everyone is a developer of every group."""
        self.calls.append(f"group {group} {user_id}")
        return 30
