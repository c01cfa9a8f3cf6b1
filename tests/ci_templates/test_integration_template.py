"""config/gitlab-ci/gitops-integration-test.yml: parses, and runs on the bot's MRs.

kubectl is not installed on the build machines, so the end-to-end test puts
a stand-in ``kubectl`` first on PATH that accepts only ``kustomize <dir>``
for a directory holding a kustomization.yaml and records each call (the
template sends kubectl's output to /dev/null): it proves the template's
script walks every overlay of the repository, not that they render.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.sandbox.ci import config as ci_config
from bot.sandbox.ci.planning import FILTERED_BY_WORKFLOW, PipelineContext, plan
from bot.sandbox.ci.testing import wait_for_settled_sync
from tests.ci_templates.conftest import template
from tests.service_ci.conftest import APPS, World, job_log, trigger_ci

KUBECTL = """\
#!/bin/sh
[ "$1" = kustomize ] && [ -f "$2/kustomization.yaml" ] || exit 3
echo "$2" >> {calls}
"""
DEFAULT = {"CI_DEFAULT_BRANCH": "main"}
CASES = [
    ("merge_request_event", "gitops/staging/web", "merge_request", True),
    ("push", "main", "branch", True),
    ("push", "gitops/staging/web", "branch", False),
    ("pipeline", "main", "branch", True),
    ("push", "v1.0.0", "tag", False),
]


@pytest.mark.parametrize(("source", "ref", "ref_type", "admitted"), CASES)
def test_rules_admit_merge_request_and_default_branch_pipelines(
    source: str, ref: str, ref_type: str, admitted: bool
) -> None:
    """The sandbox's parser loads the template; workflow rules pick the pipelines."""
    parsed = ci_config.load(template("gitops-integration-test.yml"))
    variables = {
        **DEFAULT,
        "CI_PIPELINE_SOURCE": source,
        "CI_COMMIT_REF_NAME": ref,
        **({"CI_COMMIT_BRANCH": ref} if ref_type == "branch" else {}),
        **({"CI_COMMIT_TAG": ref} if ref_type == "tag" else {}),
    }

    planned = plan(parsed, PipelineContext(source, ref, ref_type, variables))

    if admitted:
        assert [job.spec.name for job in planned.jobs] == ["integration-test"]
    else:
        assert planned.refusal == FILTERED_BY_WORKFLOW


def test_the_bots_merge_request_runs_integration_test_over_every_overlay(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tag's MR gets an MR pipeline whose integration-test renders each overlay."""
    kubectl = tmp_path / "kubectl"
    calls = tmp_path / "calls"
    kubectl.write_text(KUBECTL.format(calls=calls))
    kubectl.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    world.gitops.files.create(
        {
            "file_path": ".gitlab-ci.yml",
            "branch": "main",
            "content": template("gitops-integration-test.yml"),
            "commit_message": "Integration tests on merge requests",
        }
    )
    [main] = wait_for_settled_sync(world.sandbox, world.gitops.id, ref="main")
    assert main.status == "success"
    calls.unlink()
    web = world.project(
        "shop/web", {".gitlab-ci.yml": trigger_ci("web")}, GITOPS_BOT_URL=world.bot_url
    )
    assert world.tag(web, "v1.1.0").status == "success"

    [mr] = world.bot_mrs("web")
    [record] = wait_for_settled_sync(
        world.sandbox, world.gitops.id, source="merge_request_event"
    )
    pipeline = world.gitops.pipelines.get(record.id)
    log = job_log(world.gitops, pipeline, "integration-test")
    assert pipeline.status == "success", log
    assert pipeline.sha == mr.sha
    overlays = [f"apps/staging/{app}/" for app in sorted(APPS)]
    assert calls.read_text().splitlines() == overlays
