"""When the gate hands the merge to GitLab's auto-merge, and what it makes of
GitLab's answer (``bot.gate.automerge``, ``decide``, ``status``)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.gate import GatePolicy, Merge, ReportFailure, Wait, decide
from bot.gate.automerge import passed_for_head, unpassed_merge
from bot.gate.fetch import SETTINGS_TTL_SECONDS, GateReader
from bot.gate.report import status_report
from bot.gitlab import MergeRequest, PipelineRef, ProjectSettings
from bot.gitlab.models import parse_project_settings
from tests.gate.factories import HEAD, OLD, ready

AUTO = "gitlab_auto_merge"


@pytest.mark.parametrize(
    ("method", "must_succeed", "pipeline", "expected"),
    [
        (AUTO, True, "running", Merge(HEAD, auto_merge=True)),
        (AUTO, True, "success", Merge(HEAD, auto_merge=True)),
        (AUTO, False, "running", Wait),
        (AUTO, False, "pending", Wait),
        (AUTO, False, "success", Merge(HEAD)),
        (AUTO, False, "failed", ReportFailure),
        (AUTO, True, "failed", ReportFailure),
        ("bot", True, "running", Wait),
        ("bot", False, "success", Merge(HEAD)),
    ],
)
def test_auto_merge_only_when_the_project_requires_pipelines(
    method: str, must_succeed: bool, pipeline: str, expected: Any
) -> None:
    """GitLab's auto-merge is asked for only with "Pipelines must succeed" on;
    without it the gate waits for the pipeline and merges itself."""
    state = ready(
        policy__merge_method=method, pipeline_must_succeed=must_succeed,
        pipeline__status=pipeline,
    )  # fmt: skip

    decision = decide(state)

    if isinstance(expected, Merge):
        assert decision == Merge(expected.sha, expected.auto_merge, decision.reasons)
    else:
        assert type(decision) is expected
    if expected is Wait:
        assert [r.code for r in decision.reasons] == ["pipeline_running"]


def _answer(state: str, pipeline: PipelineRef | None) -> MergeRequest:
    """GitLab's answer to a merge call on !4."""
    return MergeRequest(
        iid=4, state=state, title="t", description="", labels=(),
        source_branch="s", target_branch="main", sha=HEAD, web_url="",
        draft=False, author_id=99, created_at="", detailed_merge_status=None,
        reviewer_ids=(), head_pipeline=pipeline,
    )  # fmt: skip


def _pipeline(status: str, sha: str = HEAD, id: int = 7) -> PipelineRef:
    """A head pipeline as GitLab's answer names it."""
    return PipelineRef(id, sha, status, "merge_request_event", "ref", "")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (_answer("opened", _pipeline("running")), None),
        (_answer("merged", _pipeline("success")), None),
        (_answer("merged", _pipeline("failed")), "(head pipeline: #7 failed)"),
        (_answer("merged", _pipeline("running")), "(head pipeline: #7 running)"),
        (_answer("merged", _pipeline("success", OLD)), "(head pipeline: #7 success)"),
        (_answer("merged", None), "(head pipeline: none)"),
    ],
)
def test_a_merge_at_once_is_checked_against_the_head_pipeline(
    answer: MergeRequest, problem: str | None
) -> None:
    """A merge at once without a passed pipeline for the SHA is named; an
    auto-merge set (still open), or a merge on a passed head pipeline, is not."""
    found = unpassed_merge(answer, ready(), HEAD)

    if problem is None:
        assert found is None
    else:
        assert found is not None and found.endswith(problem)
        assert f"without a passed pipeline for {HEAD[:8]}" in found


def test_a_merged_results_pipeline_counts_through_the_gate_read() -> None:
    """A merged-results pipeline (merge commit SHA) counts when the gate's read
    resolved it to the head, and not when it is another pipeline."""
    state = ready(pipeline__sha=OLD, pipeline__merged_results_head_sha=HEAD)

    assert passed_for_head(_answer("merged", _pipeline("success", OLD)), state)
    other = _pipeline("success", OLD, id=8)
    assert not passed_for_head(_answer("merged", other), state)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"only_allow_merge_if_pipeline_succeeds": True}, True),
        ({"only_allow_merge_if_pipeline_succeeds": False}, False),
        ({"only_allow_merge_if_pipeline_succeeds": None}, False),
        ({}, False),
    ],
)
def test_project_setting_absent_counts_as_off(data: dict, expected: bool) -> None:
    """Only an explicit true means GitLab requires pipelines to succeed."""
    assert parse_project_settings(data).pipeline_must_succeed is expected


@pytest.mark.parametrize(
    ("must_succeed", "fact"),
    [
        (True, "GitLab's auto-merge: used (the project has "),
        (False, "GitLab's auto-merge: not used, as the project has "),
    ],
)
def test_status_facts_name_the_setting(must_succeed: bool, fact: str) -> None:
    """``status`` says whether GitLab's auto-merge is used, naming the setting;
    an environment merged by the bot says nothing of it."""
    state = ready(policy__merge_method=AUTO, pipeline_must_succeed=must_succeed)

    report = status_report(decide(state), state)

    assert f"- {fact}`only_allow_merge_if_pipeline_succeeds`" in report
    plain = ready(pipeline_must_succeed=must_succeed)
    assert "auto-merge:" not in status_report(decide(plain), plain)


class _SettingsGitLab:
    """Answers the project settings read, counting the calls."""

    def __init__(self) -> None:
        self.reads = 0
        self.must_succeed = False

    async def fetch_project_settings(self) -> ProjectSettings:
        """The project's settings as they are now."""
        self.reads += 1
        return ProjectSettings(self.must_succeed)


async def test_the_setting_is_read_once_per_ttl_and_only_for_auto_merge() -> None:
    """The project's setting costs no call per decision: it is read once,
    believed for ``SETTINGS_TTL_SECONDS``, then read again; an environment
    merged by the bot never reads it."""
    now = [0.0]
    reader, gitlab = GateReader(clock=lambda: now[0]), _SettingsGitLab()
    auto, bot = GatePolicy("staging", merge_method=AUTO), GatePolicy("staging")

    assert not await reader._pipeline_must_succeed(gitlab, bot)  # type: ignore[arg-type]
    assert gitlab.reads == 0
    for _ in range(3):
        assert not await reader._pipeline_must_succeed(gitlab, auto)  # type: ignore[arg-type]
    assert gitlab.reads == 1

    gitlab.must_succeed, now[0] = True, SETTINGS_TTL_SECONDS + 1
    assert await reader._pipeline_must_succeed(gitlab, auto)  # type: ignore[arg-type]
    assert gitlab.reads == 2
