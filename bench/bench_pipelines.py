"""Benchmark the offline GitLab's pipelines on loopback.

Prints the time from a push (a commit through the API) to a finished
one-job pipeline whose script really runs, and how many such pipelines
finish per minute when many are queued at once under the runner's bounded
concurrency.

    /work/venv/bin/python bench/bench_pipelines.py [--rounds N] [--burst N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bot.sandbox.ci.testing import wait_for_pipeline_sync, wait_for_settled_sync
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client

ONE_JOB = "test:\n  script: echo ok && sleep {seconds}\n"


def push(project: Any, number: int) -> None:
    """Commit one file change to main (this starts a push pipeline)."""
    project.commits.create(
        {
            "branch": "main",
            "commit_message": f"change {number}",
            "actions": [
                {"action": "update", "file_path": "README.md", "content": f"{number}\n"}
            ],
        }
    )


def push_to_finish(sandbox: SandboxThread, project: Any, rounds: int) -> list[float]:
    """Seconds from each push to its pipeline's end, one push at a time."""
    times = []
    for number in range(rounds):
        started = time.perf_counter()
        push(project, number)
        newest = project.pipelines.list(per_page=1, get_all=False)[0]
        status = wait_for_pipeline_sync(sandbox, newest.id)
        assert status == "success", status
        times.append(time.perf_counter() - started)
    return times


def burst(sandbox: SandboxThread, project: Any, count: int) -> float:
    """Pipelines per minute when ``count`` are triggered back to back."""
    token = project.triggers.create({"description": "bench"}).token
    before = len(sandbox.state.store.find("ci_pipelines", project_id=project.id))
    started = time.perf_counter()
    for _ in range(count):
        project.trigger_pipeline("main", token)
    found = wait_for_settled_sync(
        sandbox, project.id, count=before + count, timeout=600
    )
    elapsed = time.perf_counter() - started
    assert all(p.status == "success" for p in found)
    return count / elapsed * 60


def main() -> None:
    """Run both measures and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--job-seconds", type=float, default=0.0)
    options = parser.parse_args()

    with SandboxThread() as sandbox:
        sandbox.state.ci.concurrency = options.concurrency
        gl = client(sandbox, sandbox.root_token)
        project = gl.projects.create({"name": "bench", "initialize_with_readme": True})
        project.files.create(
            {
                "file_path": ".gitlab-ci.yml",
                "branch": "main",
                "content": ONE_JOB.format(seconds=options.job_seconds),
                "commit_message": "CI",
            }
        )
        wait_for_settled_sync(sandbox, project.id)

        times = push_to_finish(sandbox, project, options.rounds)
        median, worst = statistics.median(times), max(times)
        print(
            f"push -> finished one-job pipeline: median {median * 1000:.0f} ms, "
            f"max {worst * 1000:.0f} ms ({options.rounds} rounds)"
        )
        per_minute = burst(sandbox, project, options.burst)
        print(
            f"pipelines per minute, {options.burst} queued, "
            f"concurrency {options.concurrency}, job sleeping "
            f"{options.job_seconds:g} s: {per_minute:.0f}"
        )


if __name__ == "__main__":
    main()
