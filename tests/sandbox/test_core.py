"""The sandbox answers python-gitlab over real HTTP: smoke and conventions."""

from __future__ import annotations

import gitlab
import pytest


def test_creates_a_project_with_a_readme(gl: gitlab.Gitlab) -> None:
    """A project created with initialize_with_readme has a README on main."""
    project = gl.projects.create({"name": "Demo App", "initialize_with_readme": True})

    assert project.path_with_namespace == "root/demo-app"
    assert project.default_branch == "main"
    readme = project.files.get("README.md", ref="main")
    assert readme.decode() == b"# Demo App\n"


def test_unknown_token_is_401(sandbox) -> None:
    """A token the sandbox never issued is refused with 401 Unauthorized."""
    client = gitlab.Gitlab(sandbox.url, private_token="glpat-nope")

    with pytest.raises(gitlab.GitlabAuthenticationError) as caught:
        client.projects.list()

    assert caught.value.response_code == 401
    assert caught.value.error_message == "401 Unauthorized"
