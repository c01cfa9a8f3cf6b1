"""/metrics after a full run on the offline GitLab: every family of issue #7,
with the labels it promises and counts that the run must have caused."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.observability.flow import FILES_ROUTE, FlowRecord

PREFIX = "gitops_bot_"


def samples(flow: FlowRecord, name: str) -> list[Sample]:
    """Every sample named ``name`` in the scraped text."""
    return [
        sample
        for family in text_string_to_metric_families(flow.metrics)
        for sample in family.samples
        if sample.name == name
    ]


def value(flow: FlowRecord, name: str, **labels: str) -> float:
    """The value of the one sample ``name`` with exactly ``labels``."""
    (found,) = [s.value for s in samples(flow, name) if s.labels == labels]
    return found


@pytest.mark.parametrize(
    ("name", "labels", "at_least"),
    [
        ("deploy_requests_total", {"outcome": "opened"}, 1),
        ("deploy_requests_total", {"outcome": "dry_run"}, 1),
        ("deploy_requests_total", {"outcome": "refused_401"}, 1),
        ("gitlab_calls_total", {"route": FILES_ROUTE, "status": "200"}, 1),
        ("gitlab_calls_total", {"route": FILES_ROUTE, "status": "502"}, 1),
        (
            "gitlab_calls_total",
            {"route": "PUT /projects/:id/merge_requests/:iid/merge", "status": "200"},
            2,
        ),
        ("gate_decisions_total", {"decision": "merge", "reason": "ready"}, 2),
        ("gate_decisions_total", {"decision": "wait", "reason": "held"}, 1),
        (
            "gate_decisions_total",
            {"decision": "wait", "reason": "approvals_missing"},
            1,
        ),
        ("merges_total", {"environment": "staging"}, 1),
        ("merges_total", {"environment": "production"}, 1),
        ("webhook_events_total", {"kind": "pipeline", "outcome": "queued"}, 1),
        ("webhook_events_total", {"kind": "merge_request", "outcome": "queued"}, 1),
        ("webhook_events_total", {"kind": "note", "outcome": "queued"}, 1),
        ("webhook_lag_seconds_count", {"kind": "pipeline"}, 1),
        ("webhook_lag_seconds_count", {"kind": "note"}, 1),
        ("webhook_queue_wait_seconds_count", {"kind": "merge_request"}, 1),
        ("lock_wait_seconds_count", {"key": "my-app/staging"}, 1),
        ("lock_wait_seconds_count", {"key": "my-app/production"}, 1),
    ],
)
def test_each_family_counts_what_the_run_did(
    flow: FlowRecord, name: str, labels: dict[str, str], at_least: int
) -> None:
    """The run's deploys, calls, decisions, merges, events and lock waits are
    counted under the family and labels issue #7 names."""
    assert value(flow, PREFIX + name, **labels) >= at_least


def test_retries_are_counted_where_the_adapter_retries(flow: FlowRecord) -> None:
    """The one injected 502 shows as one retry of that route for that status,
    and nothing else was retried (no retry is inferred from answers)."""
    retries = samples(flow, PREFIX + "gitlab_retries_total")

    assert [(s.labels, s.value) for s in retries] == [
        ({"route": FILES_ROUTE, "status": "502"}, 1.0)
    ]


def test_pending_work_is_a_gauge_back_to_zero(flow: FlowRecord) -> None:
    """Queue depth is reported, and the queue is empty once the run settled."""
    assert value(flow, PREFIX + "pending_events") == 0


def test_webhook_lag_is_measured_from_the_events_timestamps(flow: FlowRecord) -> None:
    """The lag sums are those of events just sent: small but not zero (GitLab's
    timestamps have whole seconds), nowhere near the years since the epoch."""
    for kind in ("pipeline", "merge_request", "note"):
        count = value(flow, PREFIX + "webhook_lag_seconds_count", kind=kind)
        total = value(flow, PREFIX + "webhook_lag_seconds_sum", kind=kind)
        assert 0 <= total / count < 60, (kind, total, count)


def test_names_follow_prometheus_conventions(flow: FlowRecord) -> None:
    """Every family is ``gitops_bot_``-prefixed, counters end ``_total``,
    histograms and summaries measure ``_seconds``."""
    families = list(text_string_to_metric_families(flow.metrics))
    kinds = {family.type for family in families}

    assert {"counter", "gauge", "histogram", "summary"} <= kinds
    for family in families:
        assert family.name.startswith(PREFIX), family.name
        names = {sample.name for sample in family.samples}
        if family.type == "counter" and names:  # labelled, none seen: no sample
            assert f"{family.name}_total" in names, family.name
        if family.type in ("histogram", "summary"):
            assert family.name.endswith("_seconds"), family.name
