"""Projects and their settings through python-gitlab."""

from __future__ import annotations

import gitlab
import pytest


def test_project_defaults(gl) -> None:
    """A new project answers GitLab's defaults for the merge settings."""
    project = gl.projects.create({"name": "app"})

    assert project.merge_method == "merge"
    assert project.squash_option == "default_off"
    assert project.only_allow_merge_if_pipeline_succeeds is False
    assert project.remove_source_branch_after_merge is True
    assert project.visibility == "private"
    assert project.empty_repo is True and project.default_branch is None


def test_create_with_settings_and_default_branch(gl) -> None:
    """POST /projects applies settings and the default branch name."""
    project = gl.projects.create(
        {
            "name": "app",
            "initialize_with_readme": True,
            "default_branch": "trunk",
            "merge_method": "ff",
            "squash_option": "always",
            "only_allow_merge_if_pipeline_succeeds": True,
            "remove_source_branch_after_merge": False,
        }
    )

    fetched = gl.projects.get(project.id)

    assert fetched.default_branch == "trunk"
    assert (fetched.merge_method, fetched.squash_option) == ("ff", "always")
    assert fetched.only_allow_merge_if_pipeline_succeeds is True
    assert fetched.remove_source_branch_after_merge is False
    assert [b.name for b in fetched.branches.list()] == ["trunk"]


def test_settings_change_with_put(gl) -> None:
    """PUT /projects/:id changes merge settings (python-gitlab save)."""
    project = gl.projects.create({"name": "app"})

    project.merge_method = "ff"
    project.only_allow_merge_if_pipeline_succeeds = True
    project.save()

    fetched = gl.projects.get(project.id)
    assert (fetched.merge_method, fetched.only_allow_merge_if_pipeline_succeeds) == (
        "ff",
        True,
    )


def test_invalid_merge_method_is_refused(gl) -> None:
    """An unknown merge_method is a Grape 400; nothing changes."""
    project = gl.projects.create({"name": "app"})

    with pytest.raises(gitlab.GitlabUpdateError) as caught:
        gl.projects.update(project.id, {"merge_method": "octopus"})

    assert (caught.value.response_code, caught.value.error_message) == (
        400,
        "merge_method does not have a valid value",
    )
    assert gl.projects.get(project.id).merge_method == "merge"


def test_get_by_url_encoded_path(gl) -> None:
    """A project reads by its full path, URL-encoded as one segment."""
    group = gl.groups.create({"name": "Platform", "path": "platform"})
    project = gl.projects.create({"name": "gitops", "namespace_id": group.id})

    found = gl.projects.get("platform/gitops")

    assert found.id == project.id
    assert found.path_with_namespace == "platform/gitops"
    assert found.namespace["kind"] == "group"


def test_duplicate_path_is_400(gl) -> None:
    """A second project with the same path in a namespace is refused."""
    gl.projects.create({"name": "app"})

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        gl.projects.create({"name": "app"})

    assert caught.value.response_code == 400
    assert caught.value.error_message["path"] == ["has already been taken"]
    assert len(gl.projects.list()) == 1


def test_name_or_path_is_required(gl) -> None:
    """POST /projects without name and path is Grape's at-least-one error."""
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        gl.projects.create({"description": "x"})

    assert caught.value.error_message == (
        "name, path are missing, at least one parameter must be provided"
    )


def test_invisible_project_is_404_not_403(gl, make_user) -> None:
    """A private project of someone else is 404 Project Not Found."""
    project = gl.projects.create({"name": "secret"})
    _, theirs = make_user("eve")

    with pytest.raises(gitlab.GitlabGetError) as caught:
        theirs.projects.get(project.id)

    assert (caught.value.response_code, caught.value.error_message) == (
        404,
        "404 Project Not Found",
    )
    assert theirs.projects.list() == []


def test_developer_cannot_change_settings(gl, make_user) -> None:
    """PUT /projects/:id by a Developer is 403 Forbidden."""
    project = gl.projects.create({"name": "app"})
    user, theirs = make_user("dev")
    project.members.create({"user_id": user.id, "access_level": 30})

    with pytest.raises(gitlab.GitlabUpdateError) as caught:
        theirs.projects.update(project.id, {"merge_method": "ff"})

    assert (caught.value.response_code, caught.value.error_message) == (
        403,
        "403 Forbidden",
    )


def test_project_list_paginates_like_gitlab(gl) -> None:
    """GET /projects pages with X-Total, X-Total-Pages and a Link header."""
    for number in range(3):
        gl.projects.create({"name": f"p{number}"})

    response = gl.http_get("/projects", query_data={"per_page": 2, "page": 2}, raw=True)

    headers = response.headers
    assert (headers["X-Page"], headers["X-Per-Page"]) == ("2", "2")
    assert (headers["X-Total"], headers["X-Total-Pages"]) == ("3", "2")
    assert (headers["X-Next-Page"], headers["X-Prev-Page"]) == ("", "1")
    assert 'rel="prev"' in headers["Link"] and 'rel="last"' in headers["Link"]
    assert [p["name"] for p in response.json()] == ["p0"]
    assert len(gl.projects.list(get_all=True, per_page=1)) == 3
