"""Pipeline and job status decisions (pure), after GitLab's processing rules.

A ``created`` job waits for its predecessors: the jobs it ``needs``, or
every job of earlier stages. Once they are done it becomes ``pending``,
``manual`` or ``skipped`` according to its ``when`` and whether a
predecessor failed. A manual job that may not fail blocks later stages and
leaves the pipeline ``manual``. The pipeline's status is the composite of
its latest jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DONE = frozenset({"success", "failed", "canceled", "skipped"})
WAITING, RUN, SKIP, BLOCK = "wait", "pending", "skipped", "manual"


@dataclass(frozen=True)
class JobState:
    """What the decisions read of one job."""

    name: str
    stage_index: int
    status: str
    when: str
    allow_failure: bool
    needs: tuple[str, ...] | None = None

    @property
    def is_done(self) -> bool:
        """Finished, or a manual job that may stay unplayed."""
        return self.status in DONE or (self.status == "manual" and self.allow_failure)

    @property
    def is_bad(self) -> bool:
        """A failure that counts: failed without allow_failure, or canceled."""
        return (self.status == "failed" and not self.allow_failure) or (
            self.status == "canceled"
        )


def predecessors(job: JobState, jobs: Sequence[JobState]) -> list[JobState]:
    """The jobs ``job`` waits for."""
    if job.needs is not None:
        return [other for other in jobs if other.name in job.needs]
    return [other for other in jobs if other.stage_index < job.stage_index]


def next_step(job: JobState, jobs: Sequence[JobState]) -> str:
    """What a ``created`` job does now: wait, run, be skipped, or wait for play."""
    before = predecessors(job, jobs)
    if not all(other.is_done for other in before):
        return WAITING
    failed = any(other.is_bad for other in before)
    if job.needs is not None:
        failed = failed or any(other.status == "skipped" for other in before)
    if job.when == "always":
        return RUN
    if job.when == "on_failure":
        return RUN if failed else SKIP
    if failed:
        return SKIP
    return BLOCK if job.when == "manual" else RUN


def pipeline_status(jobs: Sequence[JobState]) -> str:
    """The composite status of a pipeline's latest jobs."""
    statuses = {job.status for job in jobs}
    if not jobs:
        return "skipped"
    if "running" in statuses:
        return "running"
    started = bool(statuses & DONE)
    if "pending" in statuses:
        return "running" if started else "pending"
    blocking = any(job.status == "manual" and not job.allow_failure for job in jobs)
    if "created" in statuses:
        return "manual" if blocking else "created"
    return _finished_status(jobs, statuses, blocking)


def _finished_status(
    jobs: Sequence[JobState], statuses: set[str], blocking: bool
) -> str:
    if any(job.status == "failed" and not job.allow_failure for job in jobs):
        return "failed"
    if "canceled" in statuses:
        return "canceled"
    if blocking:
        return "manual"
    if statuses <= {"skipped"}:
        return "skipped"
    if statuses <= {"skipped", "manual"}:
        return "manual"
    return "success"


def is_finished(status: str) -> bool:
    """Whether a pipeline in ``status`` will not move without an action."""
    return status in DONE or status == "manual"
