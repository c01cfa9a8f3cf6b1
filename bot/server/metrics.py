"""Prometheus metrics of one server instance, in a registry of its own.

Counters that other parts of the bot already keep (GitLab calls per route
and status, retries, lock waits) are read from them at scrape time by a
collector, not counted twice. Features record what they decide through
the ``Metrics`` methods (gate decisions, merges).

Names follow Prometheus' conventions: ``gitops_bot_`` then the noun, a
counter's ``_total`` added by the client library, ``_seconds`` for
durations. Label values are bounded sets (outcomes, routes as templates,
decision reasons, event kinds, configured app/environment keys), never
free text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Summary,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "gitops_bot"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Webhook lag spans GitLab's queue too: from a second to many minutes.
LAG_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

# (route, status) -> number of calls; route is the adapter's name for it.
CallCounts = Mapping[tuple[str, str], int]


@dataclass
class Sources:
    """Where the scrape-time collector reads counts kept elsewhere.

    Each callable returns a snapshot; the defaults report nothing, for a
    server started without a GitLab adapter.
    """

    gitlab_calls: Callable[[], CallCounts] = field(default=lambda: {})
    gitlab_retries: Callable[[], CallCounts] = field(default=lambda: {})


class _SourcesCollector(Collector):
    """Turns the snapshots of ``Sources`` into counter families."""

    def __init__(self, sources: Sources) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        sources = self._sources
        yield _family(
            "gitlab_calls",
            "GitLab API calls by route and HTTP status.",
            ["route", "status"],
            sources.gitlab_calls(),
        )
        yield _family(
            "gitlab_retries",
            "GitLab API calls retried, by route and the status that caused it.",
            ["route", "status"],
            sources.gitlab_retries(),
        )


def _family(
    name: str, documentation: str, labels: list[str], values: Mapping
) -> CounterMetricFamily:
    family = CounterMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)
    for label_values, value in sorted(values.items()):
        family.add_metric(list(label_values), value)
    return family


class Metrics:
    """The metrics of one app instance; never the process-global registry."""

    def __init__(self, sources: Sources | None = None) -> None:
        """Create the metric families in a fresh registry."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.sources = sources or Sources()
        self.registry.register(_SourcesCollector(self.sources))
        self._define(self.registry)

    def _define(self, registry: CollectorRegistry) -> None:
        self.deploy_requests = Counter(
            f"{PREFIX}_deploy_requests",
            "Deploy requests answered, by outcome (opened, updated, a status...).",
            ["outcome"],
            registry=registry,
        )
        self.gate_decisions = Counter(
            f"{PREFIX}_gate_decisions",
            "Merge-gate decisions by decision (merge, wait...) and main reason.",
            ["decision", "reason"],
            registry=registry,
        )
        self.merges = Counter(
            f"{PREFIX}_merges",
            "Merge requests merged by the bot, by environment.",
            ["environment"],
            registry=registry,
        )
        self.unpassed_merges = Counter(
            f"{PREFIX}_unpassed_merges",
            "Merges GitLab made at once on an auto-merge request without a "
            "passed head pipeline, by environment.",
            ["environment"],
            registry=registry,
        )
        self.webhook_events = Counter(
            f"{PREFIX}_webhook_events",
            "Webhook deliveries by kind and outcome (queued, duplicate, ignored, "
            "unauthorized, malformed, too_large, refused: queue full).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.webhook_lag = Histogram(
            f"{PREFIX}_webhook_lag_seconds",
            "Seconds from the event's own timestamp (where the payload has one) "
            "to the start of its handling.",
            ["kind"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.webhook_queue_wait = Histogram(
            f"{PREFIX}_webhook_queue_wait_seconds",
            "Seconds from a webhook's arrival to the start of its handling.",
            ["kind"],
            registry=registry,
        )
        self.pending_events = Gauge(
            f"{PREFIX}_pending_events",
            "Webhook events accepted and not yet handled.",
            registry=registry,
        )
        self.lock_waits = Summary(
            f"{PREFIX}_lock_wait_seconds",
            "Seconds a deploy waited for its (app, environment) lock.",
            ["key"],
            registry=registry,
        )
        self.handler_errors = Counter(
            f"{PREFIX}_handler_errors",
            "Event handlers and sweeps that raised, by kind.",
            ["kind"],
            registry=registry,
        )

    def record_gate_decision(self, decision: str, reason: str) -> None:
        """Count one merge-gate ``decision`` taken mainly for ``reason``."""
        self.gate_decisions.labels(decision=decision, reason=reason).inc()

    def record_unpassed_merge(self, environment: str) -> None:
        """Count one merge GitLab made without a passed head pipeline."""
        self.unpassed_merges.labels(environment=environment).inc()

    def record_merge(self, environment: str) -> None:
        """Count one merge request merged by the bot into ``environment``."""
        self.merges.labels(environment=environment).inc()
