"""Pipelines end to end: which jobs exist per kind, triggers, API and controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gitlab
import pytest
import requests

from bot.sandbox.ci.testing import wait_for_pipeline_sync, wait_for_settled_sync
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import create_project

DATA = Path(__file__).resolve().parent.parent / "data" / "sandbox_ci"
RULES = (DATA / "rules.gitlab-ci.yml").read_text()


def job_names(pipeline: Any) -> dict[str, str]:
    """Job name -> status of a pipeline."""
    return {job.name: job.status for job in pipeline.jobs.list(get_all=True)}


def settled(sandbox: SandboxThread, project: Any, **match: Any) -> Any:
    """Wait for the one pipeline matching ``match``; return it from the API."""
    [record] = wait_for_settled_sync(sandbox, project.id, **match)
    return project.pipelines.get(record.id)


def test_rules_and_only_except_pick_jobs_for_each_kind_of_pipeline(
    sandbox: SandboxThread, gl: gitlab.Gitlab
) -> None:
    """Push, tag, merge request and triggered pipelines get their own jobs."""
    project = create_project(gl, "rules", {".gitlab-ci.yml": RULES})
    main = settled(sandbox, project, ref="main", source="push")
    assert job_names(main) == {"default-job": "success", "manual-on-main": "manual"}
    assert main.status == "manual", "a rule-made manual job blocks the pipeline"

    project.branches.create({"branch": "feat", "ref": "main"})
    feat = settled(sandbox, project, ref="feat")
    assert job_names(feat) == {
        "default-job": "success",
        "branches-except-main": "success",
    }

    project.tags.create({"tag_name": "v1.0.0", "ref": "main"})
    tag = settled(sandbox, project, ref="v1.0.0")
    assert (tag.tag, job_names(tag)) == (
        True,
        {"default-job": "success", "tag-only": "success"},
    )

    project.files.create(
        {"file_path": "x", "branch": "feat", "content": "x", "commit_message": "x"}
    )
    project.mergerequests.create(
        {"source_branch": "feat", "target_branch": "main", "title": "Feat"}
    )
    mr = settled(sandbox, project, source="merge_request_event")
    assert job_names(mr) == {"mr-only": "success"}

    trigger = project.triggers.create({"description": "deploys"})
    fired = project.trigger_pipeline("main", trigger.token, {"DEPLOY_TARGET": "qa"})
    assert fired.source == "trigger"
    assert wait_for_pipeline_sync(sandbox, fired.id) == "manual"
    jobs = job_names(project.pipelines.get(fired.id))
    assert jobs == {
        "default-job": "success",
        "triggered": "success",
        "manual-on-main": "manual",
    }
    triggered = next(
        job
        for job in project.pipelines.get(fired.id).jobs.list()
        if job.name == "triggered"
    )
    assert "deploying to qa" in project.jobs.get(triggered.id).trace().decode()


def test_trigger_endpoint_takes_form_variables_and_refuses_bad_tokens(
    sandbox: SandboxThread, gl: gitlab.Gitlab
) -> None:
    """``variables[KEY]=value`` form fields reach jobs; a wrong token is a 404."""
    project = create_project(gl, "rules", {".gitlab-ci.yml": RULES})
    wait_for_settled_sync(sandbox, project.id)
    token = project.triggers.create({"description": "form"}).token
    url = f"{sandbox.url}/api/v4/projects/{project.id}/trigger/pipeline"

    answer = requests.post(
        url,
        data={"token": token, "ref": "main", "variables[DEPLOY_TARGET]": "prod"},
        timeout=10,
    )
    assert answer.status_code == 201
    pipeline = answer.json()
    assert wait_for_pipeline_sync(sandbox, pipeline["id"]) == "manual"
    assert project.pipelines.get(pipeline["id"]).variables.list()[0].value == "prod"

    before = len(project.pipelines.list(get_all=True))
    wrong = requests.post(url, data={"token": "nope", "ref": "main"}, timeout=10)
    assert (wrong.status_code, wrong.json()) == (404, {"message": "404 Not Found"})
    missing = requests.post(url, data={"token": token, "ref": "nope"}, timeout=10)
    assert missing.json() == {"message": {"base": ["Reference not found"]}}
    assert len(project.pipelines.list(get_all=True)) == before


UPSTREAM = """
deploy:
  rules:
    - if: $CI_COMMIT_TAG
  trigger:
    project: platform/gitops
    branch: main
    strategy: depend
  variables:
    APP_NAME: web
    APP_IMAGE_TAG: $CI_COMMIT_TAG
    TARGET_ENV: staging
"""
DOWNSTREAM = """
gitops-deploy:
  rules:
    - if: $CI_PIPELINE_SOURCE == "pipeline" && $APP_NAME && $APP_IMAGE_TAG
  script:
    - echo "bump $APP_NAME to $APP_IMAGE_TAG in $TARGET_ENV"
"""


def test_depend_trigger_mirrors_the_downstream_result(
    sandbox: SandboxThread, gl: gitlab.Gitlab
) -> None:
    """A tag's trigger job starts the GitOps pipeline and takes its result."""
    group = gl.groups.create({"name": "platform", "path": "platform"})
    gitops = gl.projects.create(
        {"name": "gitops", "namespace_id": group.id, "initialize_with_readme": True}
    )
    gitops.files.create(
        {
            "file_path": ".gitlab-ci.yml",
            "branch": "main",
            "content": DOWNSTREAM,
            "commit_message": "CI",
        }
    )
    service = create_project(gl, "service", {".gitlab-ci.yml": UPSTREAM})

    service.tags.create({"tag_name": "v1.2.3", "ref": "main"})
    upstream = settled(sandbox, service, ref="v1.2.3")
    [bridge] = upstream.bridges.list()
    downstream = gitops.pipelines.get(bridge.downstream_pipeline["id"])
    assert (upstream.status, bridge.status, downstream.status) == ("success",) * 3
    assert downstream.source == "pipeline"
    [job] = downstream.jobs.list()
    assert "bump web to v1.2.3 in staging" in gitops.jobs.get(job.id).trace().decode()
    assert upstream.jobs.list() == [], "bridges are not listed among jobs"

    control = f"{sandbox.url}/-/sandbox/jobs/outcome"
    headers = {"PRIVATE-TOKEN": sandbox.root_token}
    body = {"project": "platform/gitops", "job": "gitops-deploy", "status": "failed"}
    assert requests.post(control, json=body, headers=headers, timeout=10).ok
    service.tags.create({"tag_name": "v1.2.4", "ref": "main"})
    failed = settled(sandbox, service, ref="v1.2.4")
    [bridge] = failed.bridges.list()
    assert (failed.status, bridge.status, bridge.failure_reason) == (
        "failed",
        "failed",
        "downstream_pipeline_failed",
    )


def test_pipeline_api_creates_with_variables_and_refuses_clearly(
    sandbox: SandboxThread, gl: gitlab.Gitlab
) -> None:
    """POST /pipeline runs with variables; refusals say why and create nothing."""
    config = 'hello:\n  script: echo "hello $WHO from $CI_PIPELINE_SOURCE"\n'
    project = create_project(gl, "api", {".gitlab-ci.yml": config})
    wait_for_settled_sync(sandbox, project.id)

    pipeline = project.pipelines.create(
        {"ref": "main", "variables": [{"key": "WHO", "value": "api-user"}]}
    )
    assert (pipeline.source, pipeline.ref) == ("api", "main")
    assert wait_for_pipeline_sync(sandbox, pipeline.id) == "success"
    [job] = pipeline.jobs.list()
    assert "hello api-user from api" in project.jobs.get(job.id).trace().decode()
    assert [p.id for p in project.pipelines.list(source="api")] == [pipeline.id]
    assert [p.id for p in project.pipelines.list(scope="finished", sort="asc")][-1] == (
        pipeline.id
    )

    before = len(project.pipelines.list(get_all=True))
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        project.pipelines.create({"ref": "nope"})
    assert refused.value.response_code == 400
    assert "Reference not found" in str(refused.value)
    project.files.update(
        ".gitlab-ci.yml",
        {
            "branch": "broken",
            "start_branch": "main",
            "content": "job:\n  stage: nowhere\n  script: x\n",
            "commit_message": "break CI",
        },
    )
    with pytest.raises(gitlab.GitlabCreateError) as broken:
        project.pipelines.create({"ref": "broken"})
    assert "chosen stage nowhere does not exist" in str(broken.value)
    pushed = [p for p in project.pipelines.list(get_all=True) if p.ref == "broken"]
    assert len(project.pipelines.list(get_all=True)) == before + 1
    assert project.pipelines.get(pushed[0].id).yaml_errors.startswith("jobs:job chosen")


def test_manual_play_timeout_cancel_and_job_retry(
    sandbox: SandboxThread, gl: gitlab.Gitlab, tmp_path: Path
) -> None:
    """Manual jobs play, slow jobs time out, running jobs cancel, jobs retry."""
    gate = tmp_path / "gate"
    config = f"""
stages: [build, deploy]
slow:
  stage: build
  timeout: 1s
  allow_failure: true
  script: sleep 30
waits:
  stage: build
  script: while [ ! -e {gate} ]; do sleep 0.02; done
release:
  stage: deploy
  when: manual
  script: echo released
"""
    project = create_project(gl, "controls", {".gitlab-ci.yml": config})
    [record] = sandbox.state.store.find("ci_pipelines", project_id=project.id)
    pipeline = project.pipelines.get(record.id)
    sandbox.run(
        sandbox.state.ci.wait_for(
            lambda: (
                {j.status for j in sandbox.state.ci.latest_jobs(record.id)}
                >= {"failed"}
            )
        )
    )
    jobs = {job.name: job for job in pipeline.jobs.list()}
    assert jobs["slow"].failure_reason == "job_execution_timeout"
    assert jobs["waits"].status == "running"

    pipeline.cancel()
    assert wait_for_pipeline_sync(sandbox, record.id) == "canceled"
    assert project.jobs.get(jobs["waits"].id).status == "canceled"

    gate.touch()
    pipeline.retry()
    assert wait_for_pipeline_sync(sandbox, record.id) == "success"
    retried = project.jobs.get(jobs["waits"].id).retry()
    assert retried["id"] != jobs["waits"].id
    assert wait_for_pipeline_sync(sandbox, record.id) == "success"
    assert project.jobs.get(retried["id"]).status == "success"
    release = next(j for j in pipeline.jobs.list() if j.name == "release")
    assert release.status == "manual", "an optional manual job waits"
    project.jobs.get(release.id).play()
    sandbox.run(
        sandbox.state.ci.wait_for(
            lambda: sandbox.state.store.get("ci_jobs", release.id).status == "success"
        )
    )
    with pytest.raises(gitlab.GitlabJobPlayError):
        project.jobs.get(release.id).play()


def test_variables_api_refuses_bad_input_and_writes_nothing(
    sandbox: SandboxThread, gl: gitlab.Gitlab, make_user: Any
) -> None:
    """Invalid keys, duplicates and unmaskable values are refused, list unchanged."""
    project = create_project(gl, "vars")
    project.variables.create({"key": "TOKEN", "value": "s3cret-value", "masked": True})
    refusals = [
        ({"key": "BAD-KEY", "value": "x"}, "can contain only letters, digits and '_'."),
        ({"key": "TOKEN", "value": "x"}, "(TOKEN) has already been taken"),
        ({"key": "SHORT", "value": "abc", "masked": True}, "is invalid"),
    ]
    for data, message in refusals:
        with pytest.raises(gitlab.GitlabCreateError) as refused:
            project.variables.create(data)
        assert refused.value.response_code == 400
        assert message in str(refused.value)
    assert [v.key for v in project.variables.list()] == ["TOKEN"]

    user, as_user = make_user("dev")
    project.members.create({"user_id": user.id, "access_level": 30})
    with pytest.raises(gitlab.GitlabListError) as forbidden:
        as_user.projects.get(project.id).variables.list()
    assert forbidden.value.response_code == 403
