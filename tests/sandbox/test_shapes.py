"""Success bodies carry the keys and types of GitLab's examples and ours."""

from __future__ import annotations

import pytest

from tests.conftest import GITLAB_FIXTURES, require_shared
from tests.sandbox.shapes import OWN_SHAPES, load, shape_problems


@pytest.fixture
def bodies(gl, make_project):
    """The file and commit-create bodies the sandbox answers."""
    project = make_project("app", {"app/models/key.rb": "class Key\nend\n"})
    file_body = gl.http_get(
        f"/projects/{project.id}/repository/files/app%2Fmodels%2Fkey.rb",
        query_data={"ref": "main"},
    )
    commit_body = gl.http_post(
        f"/projects/{project.id}/repository/commits",
        post_data={
            "branch": "main",
            "commit_message": "m",
            "actions": [
                {"action": "update", "file_path": "app/models/key.rb", "content": "x\n"}
            ],
        },
    )
    head = project.files.head("app/models/key.rb", ref="main")
    return {"repository_file": file_body, "commit_create": commit_body, "head": head}


@pytest.mark.parametrize("name", ["repository_file", "commit_create"])
def test_bodies_match_our_shapes(bodies, name) -> None:
    """Each body has the keys and types of our own example."""
    assert shape_problems(bodies[name], load(OWN_SHAPES / f"{name}.json")) == []


@pytest.mark.parametrize("name", ["repository_file", "commit_create"])
def test_bodies_match_gitlab_fixtures(bodies, name) -> None:
    """Each body has the keys and types of GitLab's documented example."""
    fixture = require_shared(GITLAB_FIXTURES) / "api" / f"{name}.json"

    assert shape_problems(bodies[name], load(fixture)) == []


def test_head_headers_match_gitlab_fixture(bodies) -> None:
    """HEAD on a file sends every documented X-Gitlab-* header as a string."""
    fixture = (
        require_shared(GITLAB_FIXTURES) / "api" / "repository_file.head.headers.json"
    )

    missing = [name for name in load(fixture) if name not in bodies["head"]]

    assert missing == []
