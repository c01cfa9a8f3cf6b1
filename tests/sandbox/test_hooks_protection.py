"""Project hooks and protected branches through python-gitlab."""

from __future__ import annotations

import gitlab
import pytest


def test_hook_crud_never_shows_the_token(make_project) -> None:
    """Hooks are created, read, edited and deleted; the secret is never shown."""
    project = make_project("app")

    hook = project.hooks.create(
        {
            "url": "http://127.0.0.1:9/hook",
            "token": "s3cret",
            "push_events": False,
            "merge_requests_events": True,
            "note_events": True,
        }
    )
    hook.pipeline_events = True
    hook.save()
    fetched = project.hooks.get(hook.id)
    project.hooks.delete(hook.id)

    assert "token" not in fetched.attributes
    assert (fetched.push_events, fetched.merge_requests_events) == (False, True)
    assert fetched.pipeline_events is True
    assert project.hooks.list() == []


def test_hook_url_must_be_http(make_project) -> None:
    """A hook URL that is not http(s) is refused with 422."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.hooks.create({"url": "ftp://example.com/x"})

    assert caught.value.response_code == 422
    assert project.hooks.list() == []


def test_hooks_need_maintainer(make_project, make_user) -> None:
    """A Developer cannot list hooks (403)."""
    project = make_project("app")
    user, theirs = make_user("dev")
    project.members.create({"user_id": user.id, "access_level": 30})

    with pytest.raises(gitlab.GitlabListError) as caught:
        theirs.projects.get(project.id).hooks.list()

    assert caught.value.response_code == 403


def test_missing_hook_is_404(make_project) -> None:
    """An unknown hook id is 404."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.hooks.get(42)

    assert caught.value.response_code == 404


def test_protect_a_wildcard_and_refuse_developer_pushes(
    make_project, make_user
) -> None:
    """A wildcard rule protects matching branches from Developer pushes."""
    project = make_project("app")
    rule = project.protectedbranches.create(
        {"name": "release/*", "push_access_level": 40, "merge_access_level": 30}
    )
    user, theirs = make_user("dev")
    project.members.create({"user_id": user.id, "access_level": 30})

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        theirs.projects.get(project.id).commits.create(
            {
                "branch": "release/1",
                "start_branch": "main",
                "commit_message": "m",
                "actions": [{"action": "create", "file_path": "a", "content": "a"}],
            }
        )

    assert rule.push_access_levels[0]["access_level"] == 40
    assert rule.merge_access_levels[0]["access_level"] == 30
    assert caught.value.response_code == 403
    assert [b.name for b in project.branches.list()] == ["main"]


def test_developers_may_push_when_the_rule_allows(make_project, make_user) -> None:
    """push_access_level 30 lets a Developer push to the protected branch."""
    project = make_project("app")
    project.protectedbranches.delete("main")
    project.protectedbranches.create({"name": "main", "push_access_level": 30})
    user, theirs = make_user("dev")
    project.members.create({"user_id": user.id, "access_level": 30})

    commit = theirs.projects.get(project.id).commits.create(
        {
            "branch": "main",
            "commit_message": "m",
            "actions": [{"action": "create", "file_path": "a", "content": "a"}],
        }
    )

    assert project.branches.get("main").commit["id"] == commit.id


def test_protecting_twice_is_409(make_project) -> None:
    """Protecting an already protected name is 409 with GitLab's text."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.protectedbranches.create({"name": "main"})

    assert (caught.value.response_code, caught.value.error_message) == (
        409,
        "Protected branch 'main' already exists",
    )


def test_unprotect_then_delete_branch(make_project) -> None:
    """After unprotecting, a non-default branch can be deleted."""
    project = make_project("app")
    project.branches.create({"branch": "release", "ref": "main"})
    project.protectedbranches.create({"name": "release"})

    project.protectedbranches.delete("release")
    project.branches.delete("release")

    assert [p.name for p in project.protectedbranches.list()] == ["main"]
    assert [b.name for b in project.branches.list()] == ["main"]
