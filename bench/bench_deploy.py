"""Benchmark of the deploy flow against the offline GitLab (DESIGN.md measures).

    python bench/bench_deploy.py [--requests 200] [--apps 50] [--skip-baseline]

1. GitLab calls per request (new MR, update, update of a moved target,
   replay), read from the sandbox's request log.
2. A burst: ``--requests`` concurrent requests over ``--apps`` apps x 2
   environments, tags in shuffled order. Every request must be answered
   (opened / updated / unchanged, or refused as older), and each key must end
   with exactly one open MR holding its highest tag. Wall time, p50/p99
   latency, peak Python memory of the bot side (the sandbox runs in another
   process so that its memory is not counted).
3. Time per deploy, the bot vs the central-pipeline way (git clone, edit,
   commit, push to a local bare repository), on repositories of 100 and
   10,000 files.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Config, parse_config  # noqa: E402
from bot.deploy import DeployRequest, KeyedLocks, deploy  # noqa: E402
from bot.errors import Refused  # noqa: E402
from bot.gitlab import GitLab, RetryPolicy  # noqa: E402
from bot.sandbox.server import SandboxThread  # noqa: E402
from bot.sandbox.testing import client  # noqa: E402
from bot.server.logs import configure_logging  # noqa: E402
from tests.gitlab.world import Control, seed_project  # noqa: E402

ENVIRONMENTS = ("staging", "production")
VALUES = (
    "replicaCount: 2\nimage:\n  repository: registry.example.com/{app}\n  tag: v1.0.0\n"
)


def app_names(count: int) -> list[str]:
    """``app-00`` ... ``app-NN``."""
    return [f"app-{index:02d}" for index in range(count)]


def gitops_files(apps: int, padding: int = 0) -> dict[str, str]:
    """A values file per app and environment, plus ``padding`` unrelated files."""
    files = {
        f"apps/{app}/values-{env}.yaml": VALUES.format(app=app)
        for app in app_names(apps)
        for env in ENVIRONMENTS
    }
    files.update(
        {f"other/{n // 100:03d}/file-{n}.yaml": f"n: {n}\n" for n in range(padding)}
    )
    return files


def bench_config(url: str, project: str, apps: int) -> Config:
    """The configuration of ``apps`` apps in staging and production."""
    lines = [
        "gitlab:",
        f"  url: {url}",
        f"  project: {project}",
        "  max_concurrent_calls: 16",
        "environments:",
        "  staging: {}",
        "  production: {approvals: {required: 1, users: [root]}}",
        "apps:",
    ]
    for app in app_names(apps):
        lines += [
            f"  {app}:",
            f"    image: registry.example.com/{app}",
            f"    sources: [shop/{app}]",
            "    environments: [staging, production]",
            "    manifests: [{path: 'apps/{app}/values-{env}.yaml', key: image.tag}]",
        ]
    return parse_config("\n".join(lines) + "\n", "<bench>", {})


def serve_sandbox(queue: Any, stop: Any) -> None:
    """Child process: run a sandbox until told to stop; report url and token."""
    with SandboxThread() as sandbox:
        queue.put((sandbox.url, sandbox.root_token))
        stop.wait()


class World:
    """A sandbox in a child process, a seeded project, and the bot's adapter."""

    def __init__(self, apps: int, padding: int = 0) -> None:
        self._stop = multiprocessing.Event()
        queue: Any = multiprocessing.Queue()
        self._process = multiprocessing.Process(
            target=serve_sandbox, args=(queue, self._stop), daemon=True
        )
        self._process.start()
        self.url, self.token = queue.get(timeout=60)
        self.control = Control(self.url, self.token)
        self.project = seed_project(
            client(self, self.token), "gitops", gitops_files(apps, padding)
        )
        path = self.project.path_with_namespace
        self.config = bench_config(self.url, path, apps)
        self.gitlab = GitLab(
            self.url, self.token, path, max_concurrent_calls=16,
            policy=RetryPolicy(deadline_seconds=60, backoff_base_seconds=0.05),
        )  # fmt: skip
        self.locks = KeyedLocks()

    async def deploy(self, app: str, env: str, tag: str) -> Any:
        """One deploy request, as the server would run it."""
        request = DeployRequest(app=app, environment=env, tag=tag)
        return await deploy(
            request, config=self.config, gitlab=self.gitlab, locks=self.locks
        )

    def close(self) -> None:
        """Stop the sandbox process."""
        self.gitlab.close()
        self._stop.set()
        self._process.join(timeout=10)


async def calls_per_request(world: World) -> dict[str, int]:
    """GitLab calls of a new MR, an update, a regeneration, a replay."""
    cases = [
        ("new MR (staging)", "app-00", "staging", "v1.1.0"),
        ("update, newer tag", "app-00", "staging", "v1.2.0"),
        ("replay of the same request", "app-00", "staging", "v1.2.0"),
        ("new MR (production, approval rule)", "app-00", "production", "v1.1.0"),
        ("update (production)", "app-00", "production", "v1.2.0"),
    ]
    counts = {}
    for label, app, env, tag in cases:
        world.control.clear_log()
        await world.deploy(app, env, tag)
        counts[label] = len(world.control.requests())
    return counts


async def burst(world: World, requests: int, apps: int) -> dict[str, Any]:
    """``requests`` concurrent requests in shuffled tag order; check the outcome."""
    keys = [(app, env) for app in app_names(apps)[1:] for env in ENVIRONMENTS]
    per_key = max(1, requests // len(keys))
    plan = [(app, env, f"v2.{n}.0") for app, env in keys for n in range(per_key)]
    random.Random(7).shuffle(plan)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()

    async def one(app: str, env: str, tag: str) -> None:
        started = time.perf_counter()
        try:
            outcomes[(await world.deploy(app, env, tag)).status] += 1
        except Refused:
            outcomes["refused (older)"] += 1
        latencies.append(time.perf_counter() - started)

    world.control.clear_log()
    tracemalloc.start()
    started = time.perf_counter()
    await asyncio.gather(*(one(*item) for item in plan))
    wall = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    highest = f"v2.{per_key - 1}.0"
    return {
        "requests": len(plan),
        "answered": sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "wall_s": round(wall, 2),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "peak_python_mib": round(peak / 2**20, 1),
        "gitlab_calls": len(log := world.control.requests()),
        "sandbox_busy_s": round(sum(e["duration_ms"] for e in log) / 1000, 2),
        "keys_with_one_mr_at_highest_tag": _check_keys(world, keys, highest),
        "keys": len(keys),
    }


def _check_keys(world: World, keys: list[tuple[str, str]], highest: str) -> int:
    """Count the keys whose only open MR proposes ``highest``."""
    from bot.record import parse_marker

    mrs = world.project.mergerequests.list(state="opened", get_all=True)
    by_branch: dict[str, list[Any]] = {}
    for mr in mrs:
        by_branch.setdefault(mr.source_branch, []).append(mr)
    good = 0
    for app, env in keys:
        found = by_branch.get(f"gitops/{env}/{app}", [])
        record = parse_marker(found[0].description) if len(found) == 1 else None
        good += record is not None and record.tag == highest
    return good


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def bot_time(files: int, rounds: int = 5) -> float:
    """Seconds per deploy by the bot on a repository of ``files`` files."""
    world = World(apps=1, padding=max(0, files - 3))
    try:
        await world.deploy("app-00", "staging", "v1.0.1")  # warm-up
        started = time.perf_counter()
        for n in range(rounds):
            await world.deploy("app-00", "staging", f"v1.1.{n}")
        return (time.perf_counter() - started) / rounds
    finally:
        world.close()


def central_pipeline_time(files: int, rounds: int = 5) -> float:
    """Seconds per deploy by clone (depth 1), edit, commit, push."""
    with tempfile.TemporaryDirectory() as scratch:
        bare = _bare_repository(Path(scratch), gitops_files(1, max(0, files - 3)))
        started = time.perf_counter()
        for n in range(rounds):
            work = Path(scratch) / f"clone-{n}"
            _git(
                Path(scratch),
                "clone",
                "-q",
                "--depth",
                "1",
                f"file://{bare}",
                work.name,
            )
            values = work / "apps/app-00/values-staging.yaml"
            text = re.sub(r"tag: \S+", f"tag: v1.1.{n}", values.read_text())
            values.write_text(text)
            _git(work, "commit", "-qam", f"Deploy app-00 v1.1.{n}")
            _git(work, "push", "-q", "origin", "HEAD:main")
        return (time.perf_counter() - started) / rounds


def _bare_repository(scratch: Path, files: dict[str, str]) -> Path:
    """A bare repository holding ``files`` on main."""
    seed, bare = scratch / "seed", scratch / "gitops.git"
    for path, text in files.items():
        (seed / path).parent.mkdir(parents=True, exist_ok=True)
        (seed / path).write_text(text)
    _git(seed, "init", "-q", "-b", "main")
    _git(seed, "add", "-A")
    _git(seed, "commit", "-qm", "Seed")
    _git(scratch, "clone", "-q", "--bare", str(seed), str(bare))
    return bare


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=cwd, check=True, capture_output=True,
    )  # fmt: skip


async def deploy_measures(requests: int, apps: int) -> None:
    """Print calls per request and the burst figures."""
    world = World(apps=apps + 1)
    try:
        print("GitLab calls per request (one manifest file per app):")
        for label, count in (await calls_per_request(world)).items():
            print(f"  {label:38} {count}")
        print(f"Burst of {requests} requests over {apps} apps x 2 envs:")
        for key, value in (await burst(world, requests, apps + 1)).items():
            print(f"  {key:38} {value}")
    finally:
        world.close()


async def main() -> None:
    """Run the three measures and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--apps", type=int, default=50)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--only-baseline", action="store_true")
    args = parser.parse_args()

    if not args.only_baseline:
        await deploy_measures(args.requests, args.apps)

    if not args.skip_baseline:
        print("Seconds per deploy, bot vs clone-edit-commit-push:")
        for files in (100, 10_000):
            bot, git = await bot_time(files), central_pipeline_time(files)
            print(f"  {files:>6} files: bot {bot:.3f}s, central pipeline {git:.3f}s")


if __name__ == "__main__":
    # Figures on stdout; the bot's own logs only for what went wrong.
    configure_logging(sys.stderr, json=False, level=logging.WARNING)
    asyncio.run(main())
