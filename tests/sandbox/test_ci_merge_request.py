"""Merge request pipelines gate merges: statuses, events, head_pipeline, auto-merge.

The GitOps project's integration test really runs; it reads a project CI/CD
variable, so "fixing" it and retrying the pipeline turns it green.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gitlab
import pytest

from bot.sandbox.ci.testing import wait_for_pipeline_sync, wait_for_settled_sync
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import HookReceiver
from tests.conftest import GITLAB_FIXTURES, require_shared

CI_CONFIG = """
stages: [test]
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
integration-test:
  stage: test
  variables:
    SOURCE: $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME
  script:
    - echo "testing $SOURCE into $CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
    - test -f app.yaml
    - test "$CLUSTER_READY" = yes
"""
GATED_CONFIG = """
integration-test:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script:
    - while [ ! -e "$GATE" ]; do sleep 0.02; done
"""


def make_project(gl: gitlab.Gitlab, config: str, hook_url: str | None = None) -> Any:
    """A project whose pipelines must succeed, with the given CI configuration."""
    project = gl.projects.create(
        {
            "name": "gitops",
            "initialize_with_readme": True,
            "only_allow_merge_if_pipeline_succeeds": True,
        }
    )
    if hook_url is not None:
        project.hooks.create(
            {
                "url": hook_url,
                "pipeline_events": True,
                "job_events": True,
                "push_events": False,
            }
        )
    project.files.create(
        {
            "file_path": ".gitlab-ci.yml",
            "branch": "main",
            "content": config,
            "commit_message": "CI",
        }
    )
    return project


def open_mr(project: Any) -> Any:
    """A bump branch with a new file and its merge request."""
    project.files.create(
        {
            "file_path": "app.yaml",
            "branch": "bump",
            "start_branch": "main",
            "content": "image: web:v2\n",
            "commit_message": "bump web to v2",
        }
    )
    return project.mergerequests.create(
        {"source_branch": "bump", "target_branch": "main", "title": "Bump web"}
    )


def settle_mr_pipeline(sandbox: SandboxThread, project: Any) -> Any:
    """Wait for the MR's pipeline and return it (python-gitlab object)."""
    [record] = wait_for_settled_sync(sandbox, project.id, source="merge_request_event")
    return project.pipelines.get(record.id)


def test_failing_integration_test_blocks_the_merge_until_a_retry_passes(
    sandbox: SandboxThread, gl: gitlab.Gitlab, hook_receiver: HookReceiver
) -> None:
    """Failed MR pipeline: ci_must_pass, 405 on merge; retry after a fix merges."""
    sandbox.state.mr_checking_reads = 0
    project = make_project(gl, CI_CONFIG, hook_receiver.url)
    project.variables.create({"key": "CLUSTER_READY", "value": "no"})
    wait_for_settled_sync(sandbox, project.id, ref="main")
    mr = open_mr(project)

    pipeline = settle_mr_pipeline(sandbox, project)
    assert (pipeline.status, pipeline.source) == ("failed", "merge_request_event")
    assert pipeline.ref == "refs/merge-requests/1/head"
    [job] = pipeline.jobs.list()
    assert (job.name, job.status, job.failure_reason) == (
        "integration-test",
        "failed",
        "script_failure",
    )
    trace = project.jobs.get(job.id).trace().decode()
    assert "testing bump into main" in trace
    assert '$ test "$CLUSTER_READY" = yes' in trace
    assert "ERROR: Job failed: exit code 1" in trace

    mr = project.mergerequests.get(mr.iid)
    assert mr.head_pipeline["id"] == pipeline.id
    assert mr.head_pipeline["status"] == "failed"
    assert mr.head_pipeline["sha"] == mr.sha
    assert mr.detailed_merge_status == "ci_must_pass"
    with pytest.raises(gitlab.GitlabMRClosedError) as refused:
        mr.merge()
    assert refused.value.response_code == 405
    assert project.mergerequests.get(mr.iid).state == "opened"

    sandbox.drain_webhooks()
    pipeline_statuses = [
        event.body["object_attributes"]["status"]
        for event in hook_receiver.events("Pipeline Hook")
        if event.body["object_attributes"]["id"] == pipeline.id
    ]
    assert pipeline_statuses == ["created", "pending", "running", "failed"]
    final = hook_receiver.events("Pipeline Hook")[-1].body
    assert final["merge_request"]["iid"] == mr.iid
    assert final["merge_request"]["detailed_merge_status"] == "ci_must_pass"
    assert [b["status"] for b in final["builds"]] == ["failed"]
    job_statuses = [
        event.body["build_status"]
        for event in hook_receiver.events("Job Hook")
        if event.body["build_id"] == job.id
    ]
    assert job_statuses == ["pending", "running", "failed"]

    project.variables.update("CLUSTER_READY", {"value": "yes"})
    pipeline.retry()
    assert wait_for_pipeline_sync(sandbox, pipeline.id) == "success"
    jobs = pipeline.jobs.list(include_retried=True)
    assert sorted(j.status for j in jobs) == ["failed", "success"]
    mr = project.mergerequests.get(mr.iid)
    assert (mr.head_pipeline["status"], mr.detailed_merge_status) == (
        "success",
        "mergeable",
    )
    mr.merge()
    assert project.mergerequests.get(mr.iid).state == "merged"


def test_auto_merge_waits_for_the_running_head_pipeline(
    sandbox: SandboxThread, gl: gitlab.Gitlab, tmp_path: Path
) -> None:
    """ci_still_running while the job runs; auto-merge merges once it passes."""
    sandbox.state.mr_checking_reads = 0
    gate = tmp_path / "gate"
    project = make_project(gl, GATED_CONFIG)
    project.variables.create({"key": "GATE", "value": str(gate)})
    mr = open_mr(project)

    [record] = sandbox.state.store.find("ci_pipelines", project_id=project.id)
    mr = project.mergerequests.get(mr.iid)
    assert mr.detailed_merge_status == "ci_still_running"
    assert mr.head_pipeline["id"] == record.id
    mr.merge(merge_when_pipeline_succeeds=True)
    mr = project.mergerequests.get(mr.iid)
    assert (mr.state, mr.merge_when_pipeline_succeeds) == ("opened", True)

    gate.touch()
    assert wait_for_pipeline_sync(sandbox, record.id) == "success"
    merged = project.mergerequests.get(mr.iid)
    assert merged.state == "merged"
    assert project.mergerequests.get(mr.iid).merge_user["username"] == "root"


def test_new_commit_on_the_source_branch_makes_a_new_head_pipeline(
    sandbox: SandboxThread, gl: gitlab.Gitlab, tmp_path: Path
) -> None:
    """Each push to the MR's branch runs a new MR pipeline, now the head one."""
    gate = tmp_path / "gate"
    gate.touch()
    project = make_project(gl, GATED_CONFIG)
    project.variables.create({"key": "GATE", "value": str(gate)})
    mr = open_mr(project)
    first = settle_mr_pipeline(sandbox, project)

    project.files.update(
        "app.yaml",
        {"branch": "bump", "content": "image: web:v3\n", "commit_message": "v3"},
    )
    found = wait_for_settled_sync(
        sandbox, project.id, count=2, source="merge_request_event"
    )
    mr = project.mergerequests.get(mr.iid)
    assert [p.sha for p in found] == [first.sha, mr.sha]
    assert mr.head_pipeline["id"] == found[-1].id
    listed = mr.pipelines.list()
    assert [p.id for p in listed] == [found[1].id, found[0].id]
    assert project.pipelines.list(sha=mr.sha)[0].id == found[1].id

    created = mr.pipelines.create()
    assert created.attributes["ref"] == "refs/merge-requests/1/head"
    assert wait_for_pipeline_sync(sandbox, created.id) == "success"


def test_pipeline_hook_has_the_documented_keys(
    sandbox: SandboxThread, gl: gitlab.Gitlab, hook_receiver: HookReceiver
) -> None:
    """Pipeline and Job hooks carry every key of GitLab's documented examples."""
    fixtures = require_shared(GITLAB_FIXTURES / "webhooks")
    project = make_project(gl, CI_CONFIG, hook_receiver.url)
    project.variables.create({"key": "CLUSTER_READY", "value": "yes"})
    open_mr(project)
    settle_mr_pipeline(sandbox, project)
    sandbox.drain_webhooks()

    expected = json.loads((fixtures / "pipeline_event.json").read_text())
    body = next(
        event.body
        for event in reversed(hook_receiver.events("Pipeline Hook"))
        if event.body["merge_request"] is not None
    )
    assert set(expected) - set(body) == {"source_pipeline"}, "downstream only"
    for block in ("object_attributes", "merge_request", "project", "commit"):
        assert set(expected[block]) <= set(body[block]), block
    assert set(expected["builds"][0]) <= set(body["builds"][0])

    expected_job = json.loads((fixtures / "job_event.json").read_text())
    job_body = hook_receiver.events("Job Hook")[-1].body
    missing = set(expected_job) - set(job_body) - {"source_pipeline"}
    assert not missing
    assert set(expected_job["commit"]) <= set(job_body["commit"])
    assert job_body["commit"]["id"] == job_body["pipeline_id"]
