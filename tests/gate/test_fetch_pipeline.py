"""How ``GateReader`` maps the head pipeline, merged-results pipelines included."""

from __future__ import annotations

import pytest

from bot.gate import decide
from bot.gate.fetch import GateReader
from bot.gitlab import Commit, Job
from tests.gate.reader_world import (
    HEAD,
    MERGE_COMMIT,
    TARGET,
    FakeGitLab,
    config,
    merge_request,
    pipeline,
)

MERGE_REF = "refs/merge-requests/4/merge"
OLD = "abc1234567890abcdef1234567890abcdef12345"
PASSED = (Job(1, "integration-test", "test", "success", False),)


@pytest.mark.parametrize(
    ("ref", "parents", "merged_head"),
    [
        (MERGE_REF, (TARGET, HEAD), HEAD),
        ("refs/merge-requests/4/train", (TARGET, HEAD), HEAD),
        (MERGE_REF, (TARGET, OLD), OLD),
        (MERGE_REF, (TARGET,), None),
        (MERGE_REF, (), None),
    ],
)
async def test_a_merged_results_pipeline_names_its_merge_commits_second_parent(
    ref: str, parents: tuple[str, ...], merged_head: str | None
) -> None:
    """The merge commit's second parent becomes ``merged_results_head_sha``."""
    commit = Commit(MERGE_COMMIT, "Merge", parents, None)
    gitlab = FakeGitLab(
        merge_request(pipeline(ref, MERGE_COMMIT)), {MERGE_COMMIT: commit}
    )

    fetched = await GateReader().read(config(), gitlab, 4)

    assert fetched is not None and fetched.state.pipeline is not None
    assert fetched.state.pipeline.merged_results_head_sha == merged_head
    assert gitlab.calls.count("commit 22222222") == 1


async def test_a_merged_results_pipeline_for_the_head_lets_the_merge_through() -> None:
    """Its jobs are read and, with two approvals, the gate merges the head."""
    commit = Commit(MERGE_COMMIT, "Merge", (TARGET, HEAD), None)
    gitlab = FakeGitLab(
        merge_request(pipeline(MERGE_REF, MERGE_COMMIT)),
        {MERGE_COMMIT: commit},
        jobs=PASSED,
    )
    reader = GateReader()
    state = (await reader.read(config(), gitlab, 4)).state

    assert state.jobs is not None and state.jobs[0].status == "success"
    assert "pipeline_for_other_sha" not in {r.code for r in decide(state).reasons}


async def test_the_merge_commit_is_read_once_per_sha() -> None:
    """A second decision on the same pipeline reads no commit again."""
    commit = Commit(MERGE_COMMIT, "Merge", (TARGET, HEAD), None)
    gitlab = FakeGitLab(
        merge_request(pipeline(MERGE_REF, MERGE_COMMIT)), {MERGE_COMMIT: commit}
    )
    reader = GateReader()

    await reader.read(config(), gitlab, 4)
    await reader.read(config(), gitlab, 4)

    assert gitlab.calls.count("commit 22222222") == 1


async def test_a_branch_pipeline_reads_no_merge_commit() -> None:
    """A pipeline on the source branch counts through its own sha."""
    gitlab = FakeGitLab(merge_request(pipeline("gitops/production/web", HEAD)))

    fetched = await GateReader().read(config(), gitlab, 4)

    assert fetched is not None and fetched.state.pipeline is not None
    assert fetched.state.pipeline.merged_results_head_sha is None
    assert not [call for call in gitlab.calls if call.startswith("commit 2")]
