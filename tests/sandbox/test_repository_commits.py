"""The commits API through python-gitlab: actions, start points, locks, errors."""

from __future__ import annotations

import gitlab
import pytest


def _commit(project, branch="main", actions=None, **extra):
    data = {"branch": branch, "commit_message": "change", "actions": actions, **extra}
    return project.commits.create(data)


def test_every_action_kind_applies(make_project) -> None:
    """create, update, delete, move and chmod all land in one commit."""
    project = make_project(
        "app", {"u.txt": "u", "d.txt": "d", "m.txt": "m", "x.sh": "x"}
    )

    commit = _commit(
        project,
        actions=[
            {"action": "create", "file_path": "new.txt", "content": "n"},
            {"action": "update", "file_path": "u.txt", "content": "u2"},
            {"action": "delete", "file_path": "d.txt"},
            {"action": "move", "file_path": "moved.txt", "previous_path": "m.txt"},
            {"action": "chmod", "file_path": "x.sh", "execute_filemode": True},
        ],
    )

    names = {e["path"] for e in project.repository_tree(get_all=True)}
    assert names == {"README.md", "new.txt", "u.txt", "moved.txt", "x.sh"}
    assert project.files.raw("u.txt", ref="main") == b"u2"
    assert project.files.raw("moved.txt", ref="main") == b"m"
    assert project.files.get("x.sh", ref="main").execute_filemode is True
    # The move is detected as a rename, so it adds and removes no line.
    assert commit.stats == {"additions": 2, "deletions": 2, "total": 4}
    assert len(commit.parent_ids) == 1


def test_new_branch_from_start_branch(make_project) -> None:
    """start_branch writes a new branch from another one."""
    project = make_project("app")
    main = project.branches.get("main").commit["id"]

    commit = _commit(
        project,
        "feature",
        [{"action": "create", "file_path": "f", "content": "f"}],
        start_branch="main",
    )

    assert commit.parent_ids == [main]
    assert project.branches.get("feature").commit["id"] == commit.id


def test_force_resets_an_existing_branch_onto_start_sha(make_project) -> None:
    """force with start_sha rebuilds the branch on the start point."""
    project = make_project("app")
    main = project.branches.get("main").commit["id"]
    _commit(
        project,
        "feature",
        [{"action": "create", "file_path": "a", "content": "a"}],
        start_branch="main",
    )

    commit = _commit(
        project,
        "feature",
        [{"action": "create", "file_path": "b", "content": "b"}],
        start_sha=main,
        force=True,
    )

    assert commit.parent_ids == [main]
    names = {e["name"] for e in project.repository_tree(ref="feature")}
    assert names == {"README.md", "b"}


def test_first_commit_in_an_empty_project_creates_the_branch(gl) -> None:
    """An empty project accepts a first commit without start_branch."""
    project = gl.projects.create({"name": "empty"})

    commit = _commit(
        project, "main", [{"action": "create", "file_path": "a", "content": "a"}]
    )

    assert commit.parent_ids == []
    assert gl.projects.get(project.id).default_branch == "main"


def test_last_commit_id_passes_when_the_file_did_not_change(make_project) -> None:
    """A last_commit_id naming the file's last change lets the update through."""
    project = make_project("app", {"f.txt": "1"})
    last = project.files.get("f.txt", ref="main").last_commit_id
    _commit(
        project, actions=[{"action": "create", "file_path": "other", "content": "o"}]
    )

    _commit(
        project,
        actions=[
            {
                "action": "update",
                "file_path": "f.txt",
                "content": "2",
                "last_commit_id": last,
            }
        ],
    )

    assert project.files.raw("f.txt", ref="main") == b"2"


ERRORS = [
    ({"branch": ""}, "400 Bad request - branch is required"),
    ({"commit_message": ""}, "400 Bad request - commit_message is required"),
    ({"actions": []}, "400 Bad request - actions is required"),
    (
        {"start_branch": "main", "start_sha": "0" * 40},
        "400 Bad request - start_branch, start_sha are mutually exclusive",
    ),
    (
        {"actions": [{"action": "rename", "file_path": "a"}]},
        "400 Bad request - actions[0][action] must be one of: "
        "create, update, move, delete, chmod",
    ),
    (
        {"actions": [{"action": "update", "file_path": "README.md"}]},
        "400 Bad request - actions[0][content] is required for update action",
    ),
    (
        {"actions": [{"action": "move", "file_path": "b"}]},
        "400 Bad request - actions[0][previous_path] is required for move action",
    ),
    (
        {"actions": [{"action": "create", "file_path": "README.md", "content": "x"}]},
        "A file with this name already exists",
    ),
    (
        {"actions": [{"action": "update", "file_path": "nope", "content": "x"}]},
        "A file with this name doesn't exist",
    ),
    (
        {"actions": [{"action": "delete", "file_path": "nope"}]},
        "A file with this name doesn't exist",
    ),
    (
        {"branch": "feature", "start_branch": "main"},
        "A branch called 'feature' already exists. "
        "Switch to that branch in order to make changes",
    ),
    (
        {"branch": "new-one"},
        "You can only create or edit files when you are on a branch",
    ),
    ({"branch": "x", "start_sha": "abc"}, "Invalid start_sha 'abc'"),
    ({"branch": "x", "start_sha": "f" * 40}, f"Cannot find start_sha '{'f' * 40}'"),
    (
        {"branch": "bad..name", "start_branch": "main"},
        "Something went wrong when we tried to create 'bad..name' for you: "
        "Branch name is invalid",
    ),
]


@pytest.mark.parametrize(("change", "message"), ERRORS)
def test_commit_refusals_are_400_and_write_nothing(
    make_project, change, message
) -> None:
    """Every documented refusal is a 400 with GitLab's text; no ref moves."""
    project = make_project("app")
    _commit(
        project,
        "feature",
        [{"action": "create", "file_path": "f", "content": "f"}],
        start_branch="main",
    )
    before = {b.name: b.commit["id"] for b in project.branches.list()}
    data = {
        "branch": "main",
        "commit_message": "m",
        "actions": [{"action": "create", "file_path": "z", "content": "z"}],
        **change,
    }

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.commits.create(data)

    assert caught.value.response_code == 400
    assert caught.value.error_message == message
    assert {b.name: b.commit["id"] for b in project.branches.list()} == before


def test_stale_last_commit_id_is_refused(make_project) -> None:
    """An update whose last_commit_id is older than the file's last change is 400."""
    project = make_project("app", {"f.txt": "1"})
    stale = project.files.get("f.txt", ref="main").last_commit_id
    _commit(
        project, actions=[{"action": "update", "file_path": "f.txt", "content": "2"}]
    )

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        _commit(
            project,
            actions=[
                {
                    "action": "update",
                    "file_path": "f.txt",
                    "content": "3",
                    "last_commit_id": stale,
                }
            ],
        )

    assert caught.value.response_code == 400
    assert caught.value.error_message == (
        "The file has changed since you started editing it: f.txt"
    )


def test_developer_cannot_push_to_the_protected_default_branch(
    gl, make_project, make_user
) -> None:
    """A Developer's commit to protected main is 403 with GitLab's reason."""
    project = make_project("app")
    user, client = make_user("dev")
    project.members.create({"user_id": user.id, "access_level": 30})
    theirs = client.projects.get(project.id)

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        _commit(
            theirs, actions=[{"action": "create", "file_path": "a", "content": "a"}]
        )
    allowed = _commit(
        theirs,
        "topic",
        [{"action": "create", "file_path": "a", "content": "a"}],
        start_branch="main",
    )

    assert caught.value.response_code == 403
    assert caught.value.error_message == (
        "403 Forbidden - You are not allowed to push into this branch"
    )
    assert allowed.id


def test_reporter_cannot_push_anywhere(make_project, make_user) -> None:
    """A Reporter may read but not create a branch through a commit."""
    project = make_project("app")
    user, client = make_user("rep")
    project.members.create({"user_id": user.id, "access_level": 20})

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        _commit(
            client.projects.get(project.id),
            "topic",
            [{"action": "create", "file_path": "a", "content": "a"}],
            start_branch="main",
        )

    assert caught.value.response_code == 403


def test_list_pages_without_totals(gl, make_project) -> None:
    """The commit list pages with Link and X-Next-Page but no X-Total."""
    project = make_project("app", {"a": "a"})
    _commit(project, actions=[{"action": "create", "file_path": "b", "content": "b"}])

    response = gl.http_get(
        f"/projects/{project.id}/repository/commits",
        query_data={"per_page": 2},
        raw=True,
    )

    assert len(response.json()) == 2
    assert response.headers["X-Next-Page"] == "2"
    assert "X-Total" not in response.headers
    assert 'rel="next"' in response.headers["Link"]
    titles = [c.title for c in project.commits.list(get_all=True, per_page=1)]
    assert titles == ["change", "Add files", "Initial commit"]


def test_get_commit_by_sha_and_branch_with_stats(make_project) -> None:
    """A commit reads by sha or branch name and carries stats."""
    project = make_project("app", {"a": "1\n2\n"})
    head = project.branches.get("main").commit["id"]

    by_sha = project.commits.get(head)
    by_branch = project.commits.get("main")

    assert by_sha.id == by_branch.id == head
    assert by_sha.stats == {"additions": 2, "deletions": 0, "total": 2}
    assert by_sha.title == "Add files"


def test_unknown_commit_is_404(make_project) -> None:
    """An unknown sha is 404 Commit Not Found."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.commits.get("f" * 40)

    assert caught.value.error_message == "404 Commit Not Found"


def test_commit_diff_lists_the_changed_files(make_project) -> None:
    """A commit's diff lists each file with GitLab's flags."""
    project = make_project("app", {"a": "1\n"})

    diffs = project.commits.get("main").diff()

    assert diffs == [
        {
            "diff": "@@ -0,0 +1 @@\n+1\n",
            "new_path": "a",
            "old_path": "a",
            "a_mode": "0",
            "b_mode": "100644",
            "new_file": True,
            "renamed_file": False,
            "deleted_file": False,
            "generated_file": False,
        }
    ]
