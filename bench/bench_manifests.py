"""Cost of one manifest edit next to one plain ruamel.yaml round-trip load.

Run: ``python bench/bench_manifests.py``. Prints, for a 20-line
kustomization, a 2,000-line values file and a 5,000-line multi-document
manifest: the median time per edit, the median time of
``YAML(typ="rt").load_all`` on the same text, their ratio (target: 1.3x
or less), and the peak memory of each (tracemalloc).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.manifests import Target, edit  # noqa: E402

DIGEST = "sha256:" + "ab" * 32
REGISTRY = "registry.example.com/team"


def kustomization() -> str:
    """Return a 20-line kustomization with five images entries."""
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization"]
    lines += ["resources:", "- deployment.yaml", "- service.yaml", "images:"]
    for number in range(5):
        lines += [f"- name: registry.example.com/team/app{number}"]
        lines += [f"  newTag: v1.{number}.0  # pinned"]
    lines += ["namePrefix: prod-", "commonLabels:", "  team: shop", "  tier: web"]
    return "\n".join(lines[:20]) + "\n"


def values_file(lines_wanted: int = 2000) -> str:
    """Return a values file of about ``lines_wanted`` lines, comments included."""
    lines = ["# Default values, generated for the benchmark."]
    number = 0
    while len(lines) < lines_wanted - 12:
        lines += [
            f"component{number}:",
            "  # -- image of this component",
            "  image:",
            f"    repository: registry.example.com/team/component{number}",
            f'    tag: "1.{number}.0"',
            '    digest: ""',
            "  resources:",
            "    limits: {cpu: 500m, memory: 256Mi}",
            "  env:",
            "    - name: MODE",
            "      value: 'production'",
        ]
        number += 1
    lines += ["app:", "  image:", "    repository: registry.example.com/team/app"]
    lines += ['    tag: "2.0.0"  # the one we bump', '    digest: ""']
    return "\n".join(lines) + "\n"


def multi_document(lines_wanted: int = 5000) -> str:
    """Return about ``lines_wanted`` lines of Deployments and ConfigMaps."""
    documents = []
    total = 0
    number = 0
    while total < lines_wanted:
        document = [
            "---",
            "apiVersion: apps/v1",
            "kind: Deployment",
            "metadata:",
            f"  name: service{number}",
            "  labels: {app: shop}",
            "spec:",
            "  replicas: 2",
            "  template:",
            "    spec:",
            "      containers:",
            f"      - name: service{number}",
            f"        image: {REGISTRY}/service{number % 40}:1.0.{number}",
            "        ports:",
            "        - containerPort: 8080  # http",
            "        env:",
            "        - name: LOG_LEVEL",
            '          value: "info"',
            "      - name: sidecar",
            "        image: docker.io/library/nginx:1.25",
            "---",
            "apiVersion: v1",
            "kind: ConfigMap",
            "metadata:",
            f"  name: config{number}",
            "data:",
            "  app.yaml: |",
            "    image: registry.example.com/team/service0:0.0.1",
            "    retries: 3",
        ]
        documents.append("\n".join(document))
        total += len(document)
        number += 1
    return "\n".join(documents) + "\n"


def median_seconds(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Return the median wall times of two actions, run alternately.

    Alternating keeps a busy machine's drift from favouring either one;
    collecting first keeps one action's garbage out of the other's time.
    """
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for action, samples in ((first, times[0]), (second, times[1])):
            gc.collect()
            start = time.perf_counter()
            action()
            samples.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def peak_bytes(action: Callable[[], object]) -> int:
    """Return the peak traced allocation of one run of ``action``."""
    tracemalloc.start()
    action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def measure(name: str, text: str, path: str, target: Target, repeat: int) -> None:
    """Print time and memory of the edit and of one round-trip load."""

    def bump() -> object:
        return edit(text, path, target, tag="9.9.9", digest=DIGEST)

    def load() -> object:
        return list(YAML(typ="rt").load_all(text))

    result = bump()
    assert result.changed, name
    bump_time, load_time = median_seconds(bump, load, repeat)
    bump_peak, load_peak = peak_bytes(bump), peak_bytes(load)
    print(
        f"{name:<28} {len(text.splitlines()):>6} lines  "
        f"edit {bump_time * 1000:8.2f} ms  load {load_time * 1000:8.2f} ms  "
        f"ratio {bump_time / load_time:4.2f}x  "
        f"peak edit {bump_peak / 1e6:6.2f} MB  load {load_peak / 1e6:6.2f} MB  "
        f"({len(result.changes)} changes)"
    )


def main() -> None:
    """Run the three measurements."""
    print(f"python {sys.version.split()[0]}, median of runs; target ratio <= 1.30x")
    measure(
        "kustomization",
        kustomization(),
        "kustomization.yaml",
        Target("kustomize", image="registry.example.com/team/app3"),
        repeat=200,
    )
    measure(
        "values file",
        values_file(),
        "values.yaml",
        Target("helm", key="app.image"),
        repeat=15,
    )
    measure(
        "multi-document manifest",
        multi_document(),
        "all.yaml",
        Target("manifest", image="registry.example.com/team/service7"),
        repeat=7,
    )


if __name__ == "__main__":
    main()
