"""Branches, tags and compare through python-gitlab."""

from __future__ import annotations

import gitlab
import pytest


def _branch(project, name="feature", ref="main"):
    return project.branches.create({"branch": name, "ref": ref})


def test_branch_create_get_list_delete(make_project) -> None:
    """A branch can be created from a ref, read, listed and deleted."""
    project = make_project("app")

    created = _branch(project)
    listed = [b.name for b in project.branches.list()]
    found = project.branches.get("feature")
    project.branches.delete("feature")

    assert created.commit["id"] == project.branches.get("main").commit["id"]
    assert listed == ["feature", "main"]
    assert (found.protected, found.default, found.merged) == (False, False, True)
    assert [b.name for b in project.branches.list()] == ["main"]


def test_main_branch_is_default_and_protected(make_project) -> None:
    """The initialised default branch is protected for Maintainers."""
    project = make_project("app")

    main = project.branches.get("main")

    assert (main.default, main.protected, main.developers_can_push) == (
        True,
        True,
        False,
    )


def test_branch_names_with_slashes_round_trip(make_project) -> None:
    """Branch names with slashes are URL-encoded as one path segment."""
    project = make_project("app")
    _branch(project, "gitops/staging/app")

    assert project.branches.get("gitops/staging/app").name == "gitops/staging/app"


@pytest.mark.parametrize(
    ("name", "ref", "message"),
    [
        ("main", "main", "Branch already exists"),
        ("bad..name", "main", "Branch name is invalid"),
        ("new", "no-such-ref", "Invalid reference name: new"),
    ],
)
def test_branch_create_refusals(make_project, name, ref, message) -> None:
    """Existing names, invalid names and unknown refs are 400s."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        _branch(project, name, ref)

    assert caught.value.response_code == 400
    assert caught.value.error_message == message


def test_missing_branch_is_404(make_project) -> None:
    """An unknown branch is 404 Branch Not Found, for get and delete."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabGetError) as got:
        project.branches.get("nope")
    with pytest.raises(gitlab.GitlabDeleteError) as deleted:
        project.branches.delete("nope")

    assert got.value.error_message == "404 Branch Not Found"
    assert deleted.value.response_code == 404


def test_delete_with_an_invalid_name_is_400(make_project) -> None:
    """Deleting a branch whose name git refuses is 400 The branch refname is invalid."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabDeleteError) as caught:
        project.branches.delete("bad..name")

    assert (caught.value.response_code, caught.value.error_message) == (
        400,
        "The branch refname is invalid",
    )


def test_default_and_protected_branches_cannot_be_deleted(make_project) -> None:
    """Deleting the default or a protected branch is refused with 405."""
    project = make_project("app")
    _branch(project, "release")
    project.protectedbranches.create({"name": "release"})

    with pytest.raises(gitlab.GitlabDeleteError) as default:
        project.branches.delete("main")
    with pytest.raises(gitlab.GitlabDeleteError) as protected:
        project.branches.delete("release")

    assert (default.value.response_code, default.value.error_message) == (
        405,
        "Cannot remove HEAD branch",
    )
    assert (protected.value.response_code, protected.value.error_message) == (
        405,
        "Protected branch cant be removed",
    )
    assert {b.name for b in project.branches.list()} == {"main", "release"}


def test_developer_cannot_create_a_protected_branch(make_project, make_user) -> None:
    """Creating a branch that a rule protects needs push rights on it."""
    project = make_project("app")
    project.protectedbranches.create({"name": "release/*"})
    user, client = make_user("dev")
    project.members.create({"user_id": user.id, "access_level": 30})

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        _branch(client.projects.get(project.id), "release/1")

    assert (caught.value.response_code, caught.value.error_message) == (
        403,
        "403 Forbidden",
    )


def test_tags_lightweight_and_annotated(make_project) -> None:
    """Tags are created at a ref, annotated when given a message, and listed."""
    project = make_project("app")
    head = project.branches.get("main").commit["id"]

    light = project.tags.create({"tag_name": "v1", "ref": "main"})
    annotated = project.tags.create({"tag_name": "v2", "ref": head, "message": "two"})

    assert (light.target, light.message, light.created_at) == (head, "", None)
    assert annotated.target != head and annotated.commit["id"] == head
    assert annotated.message == "two"
    assert project.tags.get("v2").name == "v2"
    assert sorted(t.name for t in project.tags.list()) == ["v1", "v2"]


@pytest.mark.parametrize(
    ("name", "ref", "message"),
    [("v1", "main", "Tag v1 already exists"), ("v9", "nope", "Target nope is invalid")],
)
def test_tag_refusals(make_project, name, ref, message) -> None:
    """Duplicate tags and unknown targets are 400s."""
    project = make_project("app")
    project.tags.create({"tag_name": "v1", "ref": "main"})

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.tags.create({"tag_name": name, "ref": ref})

    assert (caught.value.response_code, caught.value.error_message) == (400, message)


def test_missing_tag_is_404(make_project) -> None:
    """An unknown tag is 404 Tag Not Found."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.tags.get("v0")

    assert caught.value.error_message == "404 Tag Not Found"


def test_compare_lists_commits_and_diffs(make_project) -> None:
    """compare answers commits oldest first and the diff from the merge base."""
    project = make_project("app", {"a.txt": "1\n"})
    project.commits.create(
        {
            "branch": "feature",
            "start_branch": "main",
            "commit_message": "one",
            "actions": [{"action": "update", "file_path": "a.txt", "content": "2\n"}],
        }
    )
    project.commits.create(
        {
            "branch": "feature",
            "commit_message": "two",
            "actions": [{"action": "create", "file_path": "b.txt", "content": "b\n"}],
        }
    )

    result = project.repository_compare("main", "feature")

    assert [c["title"] for c in result["commits"]] == ["one", "two"]
    assert result["commit"]["title"] == "two"
    assert [(d["new_path"], d["new_file"]) for d in result["diffs"]] == [
        ("a.txt", False),
        ("b.txt", True),
    ]
    assert result["diffs"][0]["diff"] == "@@ -1 +1 @@\n-1\n+2\n"
    assert result["compare_same_ref"] is False


def test_compare_with_unknown_ref_is_404(make_project) -> None:
    """compare with a ref that does not resolve is 404 Ref Not Found."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.repository_compare("main", "nope")

    assert caught.value.error_message == "404 Ref Not Found"
