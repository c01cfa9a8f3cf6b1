"""The logs of a full run: JSON lines, one per gate decision with its facts,
request ids through GitLab calls, and no secret in any form."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from tests.observability.flow import FILES_ROUTE, FlowRecord

WINDOW = 12
# Public parts that every token of a kind shares; what follows is secret.
PUBLIC_PREFIXES = ("glpat-", "glcbt-", "whsec-", "static-")
SHA = re.compile(r"[0-9a-f]{40}")


def events(flow: FlowRecord) -> list[dict[str, Any]]:
    """Every log line of the run, decoded."""
    return [json.loads(line) for line in flow.log_lines]


def secret_parts(secret: str) -> list[str]:
    """The parts of ``secret`` whose appearance would leak it: for a JWT its
    claims and signature (its header is the same for every token), else
    what follows the token's public prefix."""
    if secret.count(".") == 2 and secret.startswith("eyJ"):
        return secret.split(".")[1:]
    for prefix in PUBLIC_PREFIXES:
        if secret.startswith(prefix):
            return [secret.removeprefix(prefix)]
    return [secret]


def forms(secret: str) -> set[str]:
    """Ways a secret may be written down: raw, URL- and form-encoded, repr,
    JSON, base64, and every ``WINDOW``-long piece of its secret parts."""
    written = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        repr(secret),
        json.dumps(secret),
        base64.b64encode(secret.encode()).decode(),
    }
    for part in secret_parts(secret):
        written |= {part[i : i + WINDOW] for i in range(len(part) - WINDOW + 1)}
    return written


@pytest.mark.parametrize(
    "written",
    [
        lambda s: f"token={s}",
        lambda s: f"url=https://x/?t={quote(s, safe='')}",
        lambda s: f"headers={ {'PRIVATE-TOKEN': s}!r}",
        lambda s: f"cut={s[:-6]}...",
        lambda s: f"tail=...{s[-14:]}",
        lambda s: f"basic={base64.b64encode(s.encode()).decode()}",
    ],
)
@pytest.mark.parametrize(
    "secret",
    [
        "glpat-Zq3xk9LmPwR2vT8yHn4c",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqb2IifQ.c2lnbmF0dXJlLXBhcnQ",
    ],
)
def test_the_search_finds_planted_leaks(
    written: Callable[[str], str], secret: str
) -> None:
    """A secret written whole, encoded, in a repr, cut short or base64ed is
    found by ``forms``; the same text without it is not."""
    assert any(form in written(secret) for form in forms(secret))
    other = "glpat-AAAAAAAAAAAAAAAAAAAA"
    assert not any(form in written(other) for form in forms(secret))


def test_the_run_used_every_kind_of_secret(flow: FlowRecord) -> None:
    """The search below is not vacuous: the run handed out the bot's and the
    users' GitLab tokens, the webhook secret, a static token, ID tokens and
    job tokens, and the bot accepted the ID token, the job token and the
    static token."""
    labels = " ".join(flow.secrets)

    for kind in ("gitops-bot's GitLab token", "webhook secret", "static token"):
        assert kind in labels
    assert "ID token 0" in labels and "job token 1" in labels
    assert flow.answers["static status"] == 200
    assert flow.answers["finished job token"] == 401
    assert "http://" in flow.job_traces[0] + flow.job_traces[1]  # MR URLs printed


def test_no_secret_appears_in_any_form(flow: FlowRecord) -> None:
    """No secret of the run, nor any 12-character piece of one, encoded or
    not, appears in the bot's logs, the trigger command's job logs or the
    metrics."""
    texts = {
        "logs": "\n".join(flow.log_lines),
        "job logs": "\n".join(flow.job_traces),
        "metrics": flow.metrics,
    }
    leaks = [
        (where, label)
        for label, secret in flow.secrets.items()
        for where, text in texts.items()
        if any(form in text for form in forms(secret))
    ]

    assert len(flow.log_lines) > 100
    assert leaks == []


def test_every_line_is_json_from_stdlib_and_structlog(flow: FlowRecord) -> None:
    """Off a terminal every line is one JSON object with level, logger and
    time, whether python-gitlab's urllib3, aiohttp or the bot wrote it."""
    loggers = set()
    for event in events(flow):
        assert {"event", "level", "logger", "timestamp"} <= set(event)
        loggers.add(event["logger"].split(".")[0])

    assert {"bot", "urllib3", "aiohttp"} <= loggers


def test_one_line_per_gate_decision_with_its_facts(flow: FlowRecord) -> None:
    """Each gate decision is one line naming app, environment, MR iid, head
    SHA and reason; there are as many as decisions counted."""
    decided = [e for e in events(flow) if e["event"] == "gate_decided"]
    counted = re.findall(
        r"^gitops_bot_gate_decisions_total\{.*\} (\S+)$", flow.metrics, re.MULTILINE
    )

    for event in decided:
        assert event["app"] == "my-app"
        assert event["environment"] in ("staging", "production")
        assert isinstance(event["iid"], int) and SHA.fullmatch(event["sha"])
        assert event["reason"] and event["request_id"]
    assert len(decided) == sum(map(float, counted))
    reasons = {(e["environment"], e["decision"], e["reason"]) for e in decided}
    assert ("production", "wait", "held") in reasons
    assert ("production", "merge", "ready") in reasons


def test_request_id_follows_a_deploy_into_its_gitlab_calls(flow: FlowRecord) -> None:
    """The deploy request that met the injected 502 logged it under its own
    request id: the id of the API request, of the GitLab call and of the
    ``deployed`` line are one."""
    lines = events(flow)
    (refused,) = [
        e for e in lines if e["event"] == "gitlab call refused" and e["status"] == 502
    ]
    same = [e for e in lines if e.get("request_id") == refused["request_id"]]

    assert refused["route"] == FILES_ROUTE
    assert {"http_request", "deployed"} <= {e["event"] for e in same}
    (request,) = [e for e in same if e["event"] == "http_request"]
    assert (request["method"], request["path"]) == ("POST", "/api/v1/deployments")


def test_webhook_work_carries_the_delivery_id(flow: FlowRecord) -> None:
    """Lines written while handling an event carry its delivery id (GitLab's
    event UUID) as the request id, and its kind."""
    queued = {e["delivery"] for e in events(flow) if e["event"] == "webhook_queued"}
    handled = [e for e in events(flow) if e["event"] == "gate_decided"]

    assert handled and all(e["request_id"] in queued for e in handled if "kind" in e)
    assert any("kind" in e for e in handled)
