"""Running pipelines: job lifecycle, stage order, hooks, waiting, cancel, retry.

``Engine`` lives on the sandbox state as ``state.ci``. ``start`` moves the
jobs that may go (``status.next_step``) and runs each in a background task
bounded by a semaphore; every status change is stored, announced by
webhook and wakes ``wait_for``. A finished pipeline settles its upstream
``strategy: depend`` bridge and lets auto-merge act.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from bot.sandbox import http
from bot.sandbox.ci import bridges, hooks, jobenv, runner
from bot.sandbox.ci.model import CANCELABLE, FINISHED, JOBS, PIPELINES, Job, Pipeline
from bot.sandbox.ci.status import RUN, WAITING, JobState, next_step, pipeline_status
from bot.sandbox.ci.tokens import JobTokens, SigningKeys

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT_SECONDS = 3600
MAX_TRACE_CHARS = 1_000_000
SETTLED = FINISHED | {"manual"}


class NotRetryable(Exception):
    """The job or pipeline cannot be retried in its state."""


def job_state(job: Job) -> JobState:
    """What the status decisions read of ``job``."""
    needs = None if job.needs is None else tuple(job.needs)
    return JobState(
        job.name, job.stage_index, job.status, job.when, job.allow_failure, needs
    )


class Engine:
    """Pipelines in motion for one sandbox."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.tokens = JobTokens()
        self.keys = SigningKeys()
        self.outcomes: dict[tuple[int, str], str] = {}
        self.default_timeout = DEFAULT_TIMEOUT_SECONDS
        self.concurrency = DEFAULT_CONCURRENCY
        self._slots: asyncio.Semaphore | None = None
        self._changed = asyncio.Condition()
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def latest_jobs(self, pipeline_id: int) -> list[Job]:
        """The jobs of a pipeline that were not retried, in creation order."""
        found = self.state.store.find(JOBS, pipeline_id=pipeline_id, retried=False)
        return sorted(found, key=lambda job: job.id)

    def project_of(self, record: Pipeline | Job) -> Any:
        """The project a pipeline or job belongs to."""
        return self.state.store.get("projects", record.project_id)

    async def start(self, pipeline: Pipeline) -> None:
        """Announce a new pipeline and move its first jobs."""
        project = self.project_of(pipeline)
        await hooks.pipeline_changed(self.state, project, pipeline)
        if pipeline.status not in FINISHED:
            await self.advance(pipeline)

    async def advance(self, pipeline: Pipeline) -> None:
        """Start, skip or block every created job whose predecessors are done."""
        moved = True
        while moved:
            moved = False
            jobs = self.latest_jobs(pipeline.id)
            states = [job_state(job) for job in jobs]
            for job, current in zip(jobs, states, strict=True):
                step = (
                    WAITING if job.status != "created" else next_step(current, states)
                )
                if step != WAITING:
                    await self.set_job_status(job, step)
                    if step == RUN:
                        self._spawn(job)
                    moved = True
                    break
        await self.refresh(pipeline)

    def _spawn(self, job: Job) -> None:
        work = bridges.run_bridge(self, job) if job.is_bridge else self._run(job)
        task = asyncio.create_task(work, name=f"ci-job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))

    @property
    def slots(self) -> asyncio.Semaphore:
        """The semaphore bounding running jobs (made on first use)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        return self._slots

    async def _run(self, job: Job) -> None:
        pipeline = self.state.store.get(PIPELINES, job.pipeline_id)
        async with self.slots:
            if job.status != "pending":
                return
            token = self.tokens.issue(job.id)
            try:
                await self.set_job_status(job, "running")
                await self.refresh(pipeline)
                result = await self._execute(job, pipeline, token)
            except asyncio.CancelledError:
                self._write(job, "ERROR: Job was canceled\n")
                raise
            except Exception as error:  # a crash fails the job, not the sandbox
                log.exception("ci job crashed", extra={"job_id": job.id})
                self._write(job, f"ERROR: the sandbox failed to run the job: {error}\n")
                result = runner.RunResult("failed", "runner_system_failure")
            finally:
                self.tokens.revoke(job.id)
        if job.status == "running":
            job.failure_reason = result.failure_reason
            await self.set_job_status(job, result.status)
        await self.advance(pipeline)

    async def _execute(self, job: Job, pipeline: Pipeline, token: str) -> Any:
        project = self.project_of(job)
        for warning in job.warnings:
            self._write(job, f"WARNING: {warning}\n")
        outcome = self.outcomes.get((job.project_id, job.name))
        if outcome is not None:
            self._write(job, f"The sandbox set this job's outcome: {outcome}\n")
            reason = "script_failure" if outcome == "failed" else None
            return runner.RunResult(outcome, reason)

        environment = jobenv.job_environment(self.state, project, pipeline, job, token)
        run = runner.JobRun(
            git_dir=self.state.repo(project).path,
            sha=pipeline.sha,
            env=environment.env,
            script=tuple(job.script),
            before_script=tuple(job.before_script),
            after_script=tuple(job.after_script),
            timeout=float(job.timeout or self.default_timeout),
            masked=environment.masked,
            files=environment.files,
        )
        return await runner.execute(run, lambda text: self._write(job, text))

    def _write(self, job: Job, text: str) -> None:
        if len(job.trace) < MAX_TRACE_CHARS:
            job.trace += text

    async def set_job_status(self, job: Job, status: str) -> None:
        """Move ``job`` to ``status``: timestamps, Job Hook, waiters."""
        job.status = status
        now = http.iso()
        if status == "pending":
            job.queued_at = now
        elif status == "running":
            job.started_at = now
        elif status in FINISHED:
            job.finished_at = now
        await hooks.job_changed(self.state, self.project_of(job), job)
        await self._notify()

    async def refresh(self, pipeline: Pipeline) -> None:
        """Recompute the pipeline's status; announce and settle a change."""
        if pipeline.yaml_errors:
            return
        states = [job_state(job) for job in self.latest_jobs(pipeline.id)]
        status = pipeline_status(states)
        if status == pipeline.status:
            return

        now = http.iso()
        pipeline.status, pipeline.updated_at = status, now
        if status == "running" and pipeline.started_at is None:
            pipeline.started_at = now
        pipeline.finished_at = now if status in FINISHED else None
        project = self.project_of(pipeline)
        await hooks.pipeline_changed(self.state, project, pipeline)
        if status in SETTLED:
            await bridges.settle_upstream(self, pipeline)
            await hooks.pipeline_settled(self.state, project, pipeline)
        # Waiters wake after auto-merge and upstream bridges have acted.
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(
        self,
        check: Callable[[], bool],
        timeout: float = 60.0,
    ) -> None:
        """Wait until ``check()`` holds after some status change (or now)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), timeout)

    async def cancel_job(self, job: Job) -> bool:
        """Cancel a created, pending or running job; False when it had ended."""
        if job.status not in CANCELABLE:
            return False
        await self.set_job_status(job, "canceled")
        task = self._tasks.get(job.id)
        if task is not None:
            task.cancel()
        await bridges.cancel_downstream(self, job)
        return True

    async def cancel_pipeline(self, pipeline: Pipeline) -> None:
        """Cancel every job still to finish, then settle the pipeline."""
        for job in self.latest_jobs(pipeline.id):
            if job.status in CANCELABLE:
                await self.cancel_job(job)
        await self.refresh(pipeline)

    def _renew(self, job: Job) -> Job:
        if job.status not in ("failed", "canceled", "success"):
            raise NotRetryable(f"Job {job.id} is {job.status}")
        job.retried = True
        fresh = Job(
            **{
                **{k: getattr(job, k) for k in job.__dataclass_fields__},
                "id": 0,
                "status": "created",
                "created_at": http.iso(),
                "queued_at": None,
                "started_at": None,
                "finished_at": None,
                "failure_reason": None,
                "retried": False,
                "retry_of": job.id,
                "downstream_pipeline_id": None,
                "trace": "",
            }
        )
        return self.state.store.insert(JOBS, fresh)

    def _reset_skipped(self, pipeline: Pipeline) -> None:
        for job in self.latest_jobs(pipeline.id):
            if job.status == "skipped":
                job.status, job.finished_at = "created", None

    async def retry_job(self, job: Job, user_id: int) -> Job:
        """Run a finished job again as a new job; later skipped jobs wait again."""
        fresh = self._renew(job)
        fresh.user_id = user_id
        pipeline = self.state.store.get(PIPELINES, job.pipeline_id)
        self._reset_skipped(pipeline)
        await self.advance(pipeline)
        return fresh

    async def retry_pipeline(self, pipeline: Pipeline, user_id: int) -> None:
        """Retry every failed or canceled job of ``pipeline``."""
        failed = [
            job
            for job in self.latest_jobs(pipeline.id)
            if job.status in ("failed", "canceled")
        ]
        if not failed:
            raise NotRetryable(f"Pipeline {pipeline.id} has nothing to retry")
        for job in failed:
            self._renew(job).user_id = user_id
        self._reset_skipped(pipeline)
        await self.advance(pipeline)

    async def play(self, job: Job, user_id: int) -> None:
        """Start a manual job."""
        job.user_id = user_id
        await self.set_job_status(job, "pending")
        self._spawn(job)
        await self.refresh(self.state.store.get(PIPELINES, job.pipeline_id))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, kept until it ends."""
        task = asyncio.create_task(work)
        self._tasks[-id(task)] = task
        task.add_done_callback(lambda _: self._tasks.pop(-id(task), None))

    async def close(self) -> None:
        """Cancel every running job (the sandbox is stopping)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
