"""config/gitlab-ci/service-deploy.yml runs as a service's .gitlab-ci.yml.

The sandbox does not resolve ``include:``, so the service's .gitlab-ci.yml
is the template's text unchanged; the two variables the template tells the
including project to set (GITOPS_BOT_URL, GITOPS_BOT_APP) are project CI/CD
variables, which GitLab ranks above the template's own defaults. The
template's ``image:`` is ignored by the sandbox's shell executor: the
``job_path`` fixture puts the virtualenv's ``gitops-bot`` first on PATH.
"""

from __future__ import annotations

from bot.sandbox.ci.testing import find_pipelines, wait_for_settled_sync
from tests.ci_templates.conftest import template
from tests.service_ci.conftest import (
    World,
    changed_lines,
    job_log,
    staging_labels,
    tag_bump,
    wait_for_mr,
)


def test_service_tag_runs_the_template_job_which_opens_the_mr(world: World) -> None:
    """A tag runs gitops-deploy from the template; its ID token gets the MR opened."""
    text = template("service-deploy.yml")
    service = world.project(
        "my-org/my-app",
        {".gitlab-ci.yml": text},
        GITOPS_BOT_URL=world.bot_url,
        GITOPS_BOT_APP="my-app",
    )
    ci_file = service.files.get(".gitlab-ci.yml", ref="main")
    assert ci_file.decode().decode() == text, "the template itself is what runs"

    pipeline = world.tag(service, "v1.4.0")

    log = job_log(service, pipeline, "gitops-deploy")
    assert pipeline.status == "success", log
    [mr] = world.bot_mrs("my-app")
    assert mr.web_url in log
    assert mr.title == "Deploy my-app v1.4.0 to staging"
    assert set(mr.labels) == staging_labels("my-app")
    assert changed_lines(mr) == tag_bump("v1.0.0", "v1.4.0")
    assert service.pipelines.list(ref="main", get_all=True) == [], "tags only"


def test_wait_merged_keeps_the_job_running_until_the_merge(world: World) -> None:
    """GITOPS_BOT_WAIT=merged: the job runs until a reviewer merges, then passes."""
    service = world.project(
        "my-org/my-app",
        {".gitlab-ci.yml": template("service-deploy.yml")},
        GITOPS_BOT_URL=world.bot_url,
        GITOPS_BOT_APP="my-app",
        GITOPS_BOT_WAIT="merged",
    )

    service.tags.create({"tag_name": "v1.5.0", "ref": "main"})
    mr = wait_for_mr(world, "my-app")
    [record] = find_pipelines(world.sandbox.state, service.id, ref="v1.5.0")
    assert record.status == "running", "the job waits for the merge"
    world.gitops.mergerequests.get(mr.iid).merge()

    [record] = wait_for_settled_sync(world.sandbox, service.id, ref="v1.5.0")
    pipeline = service.pipelines.get(record.id)
    log = job_log(service, pipeline, "gitops-deploy")
    assert pipeline.status == "success", log
    assert log.splitlines()[-3:] == [mr.web_url, "merged", "Job succeeded"]
