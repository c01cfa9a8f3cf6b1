"""The sandbox answers python-gitlab over real HTTP: smoke and conventions."""

from __future__ import annotations

import gitlab
import pytest
import requests


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


def test_unknown_route_is_grape_404(gl) -> None:
    """A path the API does not have answers {"error": "404 Not Found"}."""
    with pytest.raises(gitlab.GitlabHttpError) as caught:
        gl.http_get("/projects/1/wikis/nothing/here")

    assert caught.value.response_code == 404
    assert caught.value.error_message == "404 Not Found"


def test_wrong_method_on_a_known_path_is_404(gl) -> None:
    """A method a route does not have is Grape's 404, not a made-up 405."""
    with pytest.raises(gitlab.GitlabHttpError) as caught:
        gl.http_put("/user")

    assert (caught.value.response_code, caught.value.error_message) == (
        404,
        "404 Not Found",
    )


def test_anonymous_requests_need_a_token(sandbox) -> None:
    """GET /user without a token is 401 Unauthorized."""
    anonymous = gitlab.Gitlab(sandbox.url)

    with pytest.raises(gitlab.GitlabAuthenticationError) as caught:
        anonymous.http_get("/user")

    assert (caught.value.response_code, caught.value.error_message) == (
        401,
        "401 Unauthorized",
    )


def test_public_projects_are_readable_anonymously(gl, sandbox) -> None:
    """A public project reads without a token; a private one is 404."""
    public = gl.projects.create({"name": "open", "visibility": "public"})
    private = gl.projects.create({"name": "closed"})
    anonymous = gitlab.Gitlab(sandbox.url)

    assert anonymous.projects.get(public.id).name == "open"
    with pytest.raises(gitlab.GitlabGetError) as caught:
        anonymous.projects.get(private.id)
    assert caught.value.error_message == "404 Project Not Found"


def test_invalid_json_body_is_400(gl, sandbox) -> None:
    """A body that is not JSON is refused with 400, nothing created."""
    response = requests.post(
        f"{sandbox.url}/api/v4/projects",
        data="{not json",
        headers={
            "PRIVATE-TOKEN": sandbox.root_token,
            "Content-Type": "application/json",
        },
        timeout=10,
    )

    assert response.status_code == 400
    assert gl.projects.list() == []
