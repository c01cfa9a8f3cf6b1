"""Benchmark the offline GitLab on loopback.

Prints requests per second for file reads, commit creation and merge
request listing (project listing when the MR routes are absent), and the
time to create a commit in a 10,000-file repository against a 10-file one.

    /work/venv/bin/python bench/bench_sandbox.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import gitlab

from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client


def rate(label: str, count: int, call: Callable[[int], object]) -> float:
    """Run ``call`` ``count`` times; print and return calls per second."""
    started = time.perf_counter()
    for number in range(count):
        call(number)
    elapsed = time.perf_counter() - started
    per_second = count / elapsed
    print(f"{label:<44} {per_second:8.1f} req/s  ({count} in {elapsed:.2f} s)")
    return per_second


def project_with_files(gl: gitlab.Gitlab, name: str, files: int) -> object:
    """Create a project holding ``files`` small files in one commit."""
    project = gl.projects.create({"name": name, "initialize_with_readme": True})
    actions = [
        {
            "action": "create",
            "file_path": f"d{n % 100}/f{n}.yaml",
            "content": f"n: {n}\n",
        }
        for n in range(files)
    ]
    project.commits.create(
        {"branch": "main", "commit_message": "seed", "actions": actions}
    )
    return project


def commit_times(project: object, rounds: int) -> list[float]:
    """Time ``rounds`` one-file commits onto main."""
    times = []
    for number in range(rounds):
        started = time.perf_counter()
        project.commits.create(
            {
                "branch": "main",
                "commit_message": f"bump {number}",
                "actions": [
                    {
                        "action": "update",
                        "file_path": "d1/f1.yaml",
                        "content": f"v{number}\n",
                    }
                ],
            }
        )
        times.append(time.perf_counter() - started)
    return times


def bench_requests(gl: gitlab.Gitlab, rounds: int) -> None:
    """Requests per second for reads, commits and listings."""
    project = project_with_files(gl, "rates", 10)
    rate(
        "GET repository/files/:path",
        rounds * 5,
        lambda n: project.files.get("d1/f1.yaml", ref="main"),
    )
    rate(
        "POST repository/commits (1 update)",
        rounds,
        lambda n: project.commits.create(
            {
                "branch": "main",
                "commit_message": f"c{n}",
                "actions": [
                    {"action": "update", "file_path": "d2/f2.yaml", "content": f"{n}\n"}
                ],
            }
        ),
    )
    try:
        for number in range(20):
            project.commits.create(
                {
                    "branch": f"topic-{number}",
                    "start_branch": "main",
                    "commit_message": "t",
                    "actions": [
                        {"action": "create", "file_path": f"t{number}", "content": "t"}
                    ],
                }
            )
            project.mergerequests.create(
                {
                    "source_branch": f"topic-{number}",
                    "target_branch": "main",
                    "title": f"MR {number}",
                }
            )
        rate(
            "GET merge_requests (20 open, one page)",
            rounds * 2,
            lambda n: project.mergerequests.list(state="opened"),
        )
    except gitlab.GitlabError as error:
        print(f"merge requests unavailable ({error.response_code}); listing projects")
        rate("GET projects", rounds * 2, lambda n: gl.projects.list())


def bench_repository_size(gl: gitlab.Gitlab, rounds: int) -> None:
    """Commit creation time: 10 files against 10,000 files."""
    for files in (10, 10_000):
        started = time.perf_counter()
        project = project_with_files(gl, f"size-{files}", files)
        seeded = time.perf_counter() - started
        times = commit_times(project, rounds)
        median, worst = statistics.median(times) * 1000, max(times) * 1000
        print(
            f"commit in a {files:>6}-file repository: median {median:7.1f} ms, "
            f"max {worst:7.1f} ms  (seeding commit {seeded:.2f} s)"
        )


def main() -> None:
    """Run every benchmark on a fresh sandbox."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    with SandboxThread() as sandbox:
        gl = client(sandbox, sandbox.root_token)
        bench_requests(gl, args.rounds)
        bench_repository_size(gl, max(10, args.rounds // 5))


if __name__ == "__main__":
    main()
