"""The repository beside a configured Helm key: trusted when absent, else checked."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.config import Config
from bot.deploy import DeployRequest, ManifestMismatch, Snapshot, plan_deploy
from bot.gitlab import RepositoryFile
from bot.manifests import Target, edit
from bot.manifests.errors import UnsupportedEdit
from tests.deploy.conftest import Deployer, gitops_files
from tests.deploy.test_flow import changed_lines, open_mrs

HEAD = "a" * 40
VALUES = "charts/web/values-staging.yaml"
BARE = "replicaCount: 2\nimage:\n  tag: v1.2.0\n"
OTHER = "image:\n  repository: docker.io/envoyproxy/envoy\n  tag: v1.2.0\n"
UNCHECKED = (
    f"{VALUES}:3: repository not checked against 'registry.example.com/shop/web': "
    "no repository, name or image key next to the value; edited because the "
    "configuration names the key"
)
MISMATCH = (
    f"manifest does not match the app web: {VALUES}:3: the value belongs to "
    "repository 'docker.io/envoyproxy/envoy', not 'registry.example.com/shop/web'"
)


def snapshot_with(values: str) -> Snapshot:
    """web's staging files at HEAD, the values file holding ``values``."""
    files = gitops_files() | {VALUES: values}
    paths = ("apps/web/staging/kustomization.yaml", VALUES)
    return Snapshot(
        head_sha=HEAD,
        files=tuple(
            RepositoryFile(path, files[path], "main", HEAD, HEAD, "b" * 40)
            for path in paths
        ),
        merge_requests=(),
    )


def test_a_tag_without_a_repository_beside_it_is_edited_with_a_note(
    config: Config,
) -> None:
    """``image: {tag: ...}`` under the configured key is bumped, with a note."""
    request = DeployRequest(app="web", environment="staging", tag="v1.3.0")

    plan = plan_deploy(config, request, snapshot_with(BARE))

    values = plan.edits[1]
    assert values.text == BARE.replace("v1.2.0", "v1.3.0")
    assert values.notes == (UNCHECKED,)
    assert plan.edits[0].notes == ()


def test_another_repository_beside_the_key_is_a_422(config: Config) -> None:
    """A repository that differs is refused as the manifest not matching (422)."""
    request = DeployRequest(app="web", environment="staging", tag="v1.3.0")

    with pytest.raises(ManifestMismatch) as caught:
        plan_deploy(config, request, snapshot_with(OTHER))

    assert str(caught.value) == MISMATCH
    assert (caught.value.http_status, caught.value.exit_status) == (422, 2)


def _replace_values(project: Any, text: str) -> None:
    """Commit ``text`` as the staging values file on main."""
    project.commits.create(
        {
            "branch": "main",
            "commit_message": "values without a repository",
            "actions": [{"action": "update", "file_path": VALUES, "content": text}],
        }
    )


async def test_deploy_proceeds_and_logs_the_unchecked_key(
    run: Deployer, project: Any
) -> None:
    """The deploy opens its MR with the bare tag bumped and logs the note."""
    _replace_values(project, BARE)

    with capture_logs() as logs:
        result = await run("v1.3.0")

    assert result.status == "opened"
    assert changed_lines(project, "gitops/staging/web")[-2:] == [
        "-  tag: v1.2.0",
        "+  tag: v1.3.0",
    ]
    notes = [e for e in logs if e["event"] == "manifest repository unchecked"]
    assert [(e["log_level"], e["note"]) for e in notes] == [("warning", UNCHECKED)]


async def test_deploy_of_a_mismatched_repository_writes_nothing(
    run: Deployer, project: Any
) -> None:
    """A differing repository refuses the deploy before any branch or MR."""
    _replace_values(project, OTHER)
    head = project.branches.get("main").commit["id"]

    with pytest.raises(ManifestMismatch) as caught:
        await run("v1.3.0")

    assert str(caught.value) == MISMATCH
    assert open_mrs(project) == []
    assert [b.name for b in project.branches.list(all=True)] == ["main"]
    assert project.branches.get("main").commit["id"] == head


def test_the_bump_command_still_requires_a_repository_with_image() -> None:
    """Only the deploy trusts a bare key; ``Target`` defaults to refusing."""
    target = Target(kind="helm", key="image.tag", image="shop/web")
    with pytest.raises(UnsupportedEdit) as caught:
        edit(BARE, "values.yaml", target, tag="v2")

    assert str(caught.value) == (
        "values.yaml:3: cannot check the repository: no repository, name or image "
        "key next to the value"
    )
