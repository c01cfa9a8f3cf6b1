"""Stored records of the CI part: pipelines, jobs, CI/CD variables, triggers.

Plain mutable dataclasses with JSON fields, as ``store.Store`` requires.
A job keeps everything it needs to run again (script, variables, needs)
so that retries do not re-read the configuration, as on GitLab.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PIPELINES = "ci_pipelines"
JOBS = "ci_jobs"
VARIABLES = "ci_variables"
TRIGGERS = "ci_triggers"

ZERO_SHA = "0" * 40
ACTIVE = frozenset(
    {"created", "waiting_for_resource", "preparing", "pending", "running"}
)
FINISHED = frozenset({"success", "failed", "canceled", "skipped"})
CANCELABLE = frozenset({"created", "pending", "running", "waiting_for_resource"})


@dataclass
class Pipeline:
    """One pipeline of a project."""

    project_id: int
    iid: int
    sha: str
    ref: str
    source: str
    user_id: int
    created_at: str
    id: int = 0
    status: str = "created"
    updated_at: str = ""
    before_sha: str = ZERO_SHA
    tag: bool = False
    started_at: str | None = None
    finished_at: str | None = None
    yaml_errors: str | None = None
    stages: list[str] = field(default_factory=list)
    # Trigger and API variables: [{"key", "value", "variable_type"}].
    variables: list[dict[str, str]] = field(default_factory=list)
    merge_request_iid: int | None = None
    upstream_job_id: int | None = None
    name: str | None = None


@dataclass
class Job:
    """A job (build) or, with ``trigger`` set, a bridge to a downstream project."""

    pipeline_id: int
    project_id: int
    name: str
    stage: str
    stage_index: int
    user_id: int
    created_at: str
    id: int = 0
    status: str = "created"
    when: str = "on_success"
    allow_failure: bool = False
    script: list[str] = field(default_factory=list)
    before_script: list[str] = field(default_factory=list)
    after_script: list[str] = field(default_factory=list)
    variables: list[list[str]] = field(default_factory=list)
    needs: list[str] | None = None
    id_tokens: dict[str, list[str]] = field(default_factory=dict)
    trigger: dict[str, Any] | None = None
    environment: str | None = None
    timeout: int | None = None
    warnings: list[str] = field(default_factory=list)
    queued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    failure_reason: str | None = None
    retried: bool = False
    retry_of: int | None = None
    downstream_pipeline_id: int | None = None
    trace: str = ""

    @property
    def is_bridge(self) -> bool:
        """Whether this is a ``trigger:`` job."""
        return self.trigger is not None


@dataclass
class Variable:
    """A project CI/CD variable."""

    project_id: int
    key: str
    value: str
    id: int = 0
    variable_type: str = "env_var"
    protected: bool = False
    masked: bool = False
    raw: bool = False
    environment_scope: str = "*"
    description: str | None = None


@dataclass
class TriggerToken:
    """A pipeline trigger token of a project."""

    project_id: int
    token: str
    owner_id: int
    created_at: str
    id: int = 0
    description: str = ""
    updated_at: str = ""
    last_used: str | None = None


RECORDS: dict[str, type] = {
    PIPELINES: Pipeline,
    JOBS: Job,
    VARIABLES: Variable,
    TRIGGERS: TriggerToken,
}
