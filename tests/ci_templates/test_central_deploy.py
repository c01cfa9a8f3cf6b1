"""config/gitlab-ci/central-deploy.yml runs as the GitOps project's .gitlab-ci.yml.

The service side is the trigger job the template documents in its
comments, taken from the template text; the GitOps side is the template
unchanged, with the two CI/CD variables it documents: GITLAB_TOKEN (the
bot's token, masked and protected) and GITOPS_BOT_CONFIG (a File-type
variable holding the configuration, whose token_env names GITLAB_TOKEN).
``gitops-bot`` comes from PATH (``job_path`` fixture); ``image:`` is ignored.
"""

from __future__ import annotations

from typing import Any

from tests.ci_templates.conftest import template
from tests.service_ci.conftest import (
    World,
    bot_config_text,
    changed_lines,
    job_log,
    staging_labels,
    tag_bump,
)


def documented_trigger_job(text: str) -> str:
    """The service-side example in the template's comments, uncommented."""
    lines = text.splitlines()
    start = lines.index("# In a service repository:") + 2
    example = []
    for line in lines[start:]:
        if not line.startswith("#   "):
            break
        example.append(line.removeprefix("#   "))
    return "\n".join(example) + "\n"


def central_world(world: World) -> Any:
    """The GitOps project runs the template; my-org/my-app triggers it."""
    text = template("central-deploy.yml")
    world.gitops.files.create(
        {
            "file_path": ".gitlab-ci.yml",
            "branch": "main",
            "content": text,
            "commit_message": "Central deploy pipeline",
        }
    )
    world.gitops.variables.create(
        {
            "key": "GITLAB_TOKEN",
            "value": world.bot_token,
            "masked": True,
            "protected": True,
        }
    )
    world.gitops.variables.create(
        {
            "key": "GITOPS_BOT_CONFIG",
            "value": bot_config_text(world.sandbox.url, token_env="GITLAB_TOKEN"),
            "variable_type": "file",
        }
    )
    return world.project(
        "my-org/my-app", {".gitlab-ci.yml": documented_trigger_job(text)}
    )


def downstream_of(world: World, upstream: Any) -> tuple[Any, Any]:
    """The upstream's trigger job (bridge) and the GitOps pipeline it started."""
    [bridge] = upstream.bridges.list()
    return bridge, world.gitops.pipelines.get(bridge.downstream_pipeline["id"])


def test_trigger_runs_the_central_job_which_opens_the_mr(world: World) -> None:
    """Tag -> trigger job -> gitops-deploy runs `gitops-bot deploy` -> the MR."""
    service = central_world(world)

    upstream = world.tag(service, "v1.3.0")

    bridge, downstream = downstream_of(world, upstream)
    log = job_log(world.gitops, downstream, "gitops-deploy")
    assert (upstream.status, bridge.status, downstream.status) == ("success",) * 3, log
    assert downstream.source == "pipeline"
    [mr] = world.bot_mrs("my-app")
    assert mr.web_url in log
    assert world.bot_token not in log, "the GitOps token stays masked"
    assert mr.title == "Deploy my-app v1.3.0 to staging"
    assert set(mr.labels) == staging_labels("my-app")
    assert changed_lines(mr) == tag_bump("v1.0.0", "v1.3.0")


def test_refused_deploy_fails_the_service_pipeline_through_depend(
    world: World,
) -> None:
    """An older tag: the central job fails with the reason, the trigger job too."""
    service = central_world(world)
    assert world.tag(service, "v1.3.0").status == "success"
    world.control.clear_log()

    upstream = world.tag(service, "v0.9.0")

    bridge, downstream = downstream_of(world, upstream)
    log = job_log(world.gitops, downstream, "gitops-deploy")
    assert (downstream.status, bridge.status, upstream.status) == ("failed",) * 3
    assert bridge.failure_reason == "downstream_pipeline_failed"
    assert "tag v0.9.0 is older than v1.0.0 deployed on platform/gitops@main" in log
    assert "pass force to roll back" in log
    assert world.gitops_writes() == []
    [mr] = world.bot_mrs("my-app")
    assert changed_lines(mr) == tag_bump("v1.0.0", "v1.3.0")
