"""Groups, subgroups and members (direct and inherited) through python-gitlab."""

from __future__ import annotations

import gitlab
import pytest


@pytest.fixture
def tree(gl):
    """platform / ops subgroup / gitops project."""
    top = gl.groups.create({"name": "Platform", "path": "platform"})
    sub = gl.groups.create({"name": "Ops", "path": "ops", "parent_id": top.id})
    project = gl.projects.create(
        {"name": "gitops", "namespace_id": sub.id, "initialize_with_readme": True}
    )
    return top, sub, project


def test_subgroup_paths_and_lookup(gl, tree) -> None:
    """A subgroup reads by its full path and lists under its parent."""
    top, sub, project = tree

    assert gl.groups.get("platform/ops").id == sub.id
    assert sub.full_path == "platform/ops" and sub.parent_id == top.id
    assert [g.path for g in top.subgroups.list()] == ["ops"]
    assert [p.id for p in top.projects.list(include_subgroups=True)] == [project.id]
    assert project.path_with_namespace == "platform/ops/gitops"


def test_group_membership_is_inherited_by_subgroups_and_projects(
    gl, tree, make_user
) -> None:
    """A Developer of the top group is a Developer of the subgroup's project."""
    top, _, project = tree
    user, theirs = make_user("dev")
    top.members.create({"user_id": user.id, "access_level": 30})

    theirs_project = theirs.projects.get("platform/ops/gitops")
    inherited = project.members_all.get(user.id)

    assert theirs_project.id == project.id
    assert inherited.access_level == 30
    assert [m.username for m in project.members.list()] == []
    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.members.get(user.id)
    assert caught.value.error_message == "404 Member Not Found"


def test_the_highest_level_wins(gl, tree, make_user) -> None:
    """Direct Maintainer beats inherited Reporter in /members/all."""
    top, _, project = tree
    user, _ = make_user("dev")
    top.members.create({"user_id": user.id, "access_level": 20})
    project.members.create({"user_id": user.id, "access_level": 40})

    assert project.members_all.get(user.id).access_level == 40


def test_member_change_and_removal(gl, tree, make_user) -> None:
    """A project member's level changes with PUT and goes with DELETE."""
    _, _, project = tree
    user, _ = make_user("dev")
    member = project.members.create({"user_id": user.id, "access_level": 30})

    member.access_level = 40
    member.save()
    changed = project.members.get(user.id).access_level
    project.members.delete(user.id)

    assert changed == 40
    assert [m.id for m in project.members.list()] == []


def test_duplicate_member_is_409(gl, tree, make_user) -> None:
    """Adding someone twice is 409 Member already exists."""
    _, _, project = tree
    user, _ = make_user("dev")
    project.members.create({"user_id": user.id, "access_level": 30})

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.members.create({"user_id": user.id, "access_level": 40})

    assert (caught.value.response_code, caught.value.error_message) == (
        409,
        "Member already exists",
    )


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        ({"user_id": 999, "access_level": 30}, 404, "404 User Not Found"),
        (
            {"user_id": 1, "access_level": 33},
            400,
            "access_level does not have a valid value",
        ),
    ],
)
def test_member_refusals(tree, data, code, message) -> None:
    """Unknown users and invalid levels are refused."""
    _, _, project = tree

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.members.create(data)

    assert (caught.value.response_code, caught.value.error_message) == (code, message)


def test_developer_cannot_add_members(gl, tree, make_user) -> None:
    """Adding members needs Maintainer: a Developer gets 403."""
    _, _, project = tree
    dev, theirs = make_user("dev")
    other, _ = make_user("other")
    project.members.create({"user_id": dev.id, "access_level": 30})

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        theirs.projects.get(project.id).members.create(
            {"user_id": other.id, "access_level": 30}
        )

    assert caught.value.response_code == 403


def test_personal_project_owner_is_a_member(gl) -> None:
    """The owner of a personal project is listed as an Owner member."""
    project = gl.projects.create({"name": "mine"})

    assert [(m.username, m.access_level) for m in project.members.list()] == [
        ("root", 50)
    ]


def test_subgroup_needs_maintainer_on_the_parent(gl, tree, make_user) -> None:
    """A Developer of a group cannot create a subgroup in it (403)."""
    top, _, _ = tree
    user, theirs = make_user("dev")
    top.members.create({"user_id": user.id, "access_level": 30})

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        theirs.groups.create({"name": "x", "path": "x", "parent_id": top.id})

    assert caught.value.response_code == 403


def test_unknown_group_is_404(gl) -> None:
    """GET /groups/:id of nothing is 404 Group Not Found."""
    with pytest.raises(gitlab.GitlabGetError) as caught:
        gl.groups.get("nope")

    assert caught.value.error_message == "404 Group Not Found"
