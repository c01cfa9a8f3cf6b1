"""A configured manifest that cannot take the edit is the configuration's or
the GitOps repository's fault: 422 naming the file, nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from bot.deploy import ManifestUnusable
from tests.deploy.conftest import Deployer
from tests.deploy.test_flow import open_mrs

VALUES = "charts/web/values-staging.yaml"


def _commit_values(project: Any, text: str) -> str:
    """Commit ``text`` as the staging values file on main; return main's head."""
    project.commits.create(
        {
            "branch": "main",
            "commit_message": "a values file the app's key is not in",
            "actions": [{"action": "update", "file_path": VALUES, "content": text}],
        }
    )
    return project.branches.get("main").commit["id"]


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (
            "replicaCount: 2\n",
            ": key 'image.tag' not found: the document root has no key 'image' "
            "(keys there: replicaCount)",
        ),
        ("image:\n  tag: [unclosed\n", ": YAML does not parse at line 3, column 1"),
    ],
    ids=["key-missing", "yaml-broken"],
)
async def test_a_manifest_that_cannot_take_the_edit_is_a_422(
    run: Deployer, project: Any, values: str, reason: str
) -> None:
    """The missing key or the broken YAML is named; no branch, MR or commit."""
    head = _commit_values(project, values)

    with pytest.raises(ManifestUnusable) as caught:
        await run("v1.3.0")

    message = str(caught.value)
    assert message.startswith(f"manifest cannot take the deploy of web: {VALUES}")
    assert reason in message
    assert (caught.value.http_status, caught.value.exit_status) == (422, 2)
    assert open_mrs(project) == []
    assert [b.name for b in project.branches.list(all=True)] == ["main"]
    assert project.branches.get("main").commit["id"] == head
