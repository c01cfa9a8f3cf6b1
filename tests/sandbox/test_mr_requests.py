"""Contract tests: merge requests list, get, create, update, diffs (python-gitlab)."""

from __future__ import annotations

import json

import gitlab
import pytest

from tests.conftest import GITLAB_FIXTURES, require_shared
from tests.sandbox.mr_support import error_of, open_mr, settle, user_client, write_file


@pytest.fixture
def project(make_project):
    """A fresh project with a README on main."""
    return make_project("shop")


def test_create_answers_the_full_entity_then_settles_to_mergeable(project) -> None:
    """201 with sha/diff_refs; 'checking' on the first read, then 'mergeable'."""
    mr = open_mr(project, labels="deploy,prio::high", description="text")
    head = project.files.get("feature.txt", ref="feature").commit_id

    assert mr.iid == 1 and mr.state == "opened" and not mr.draft
    assert mr.detailed_merge_status == "checking" and mr.merge_status == "checking"
    assert mr.labels == ["deploy", "prio::high"]
    assert mr.sha == mr.diff_refs["head_sha"] == head
    assert mr.head_pipeline is None
    assert mr.references["short"] == "!1"
    assert mr.web_url.endswith("/-/merge_requests/1")

    settled = project.mergerequests.get(mr.iid)
    assert settled.detailed_merge_status == "mergeable"
    assert settled.merge_status == "can_be_merged" and settled.has_conflicts is False
    assert settled.changes_count == "1" and settled.user_notes_count == 0


def test_single_entity_has_the_fixture_keys_and_types(project) -> None:
    """Every key of the documented single-MR body is present with its JSON type."""
    fixture = json.loads(
        require_shared(GITLAB_FIXTURES / "api/merge_request_single.json").read_text()
    )
    open_mr(project)
    body = project.mergerequests.get(1).asdict()

    from tests.sandbox.mr_support import same_shape

    assert same_shape(fixture, body) == []


def test_labels_are_created_on_the_fly(project) -> None:
    """Unknown labels on create become project labels with the default colour."""
    open_mr(project, labels=["new-label"])
    label = project.labels.get("new-label")

    assert label.color == "#6699cc" and label.open_merge_requests_count == 1


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (
            {"source_branch": "feature", "target_branch": "main"},
            400,
            "title is missing",
        ),
        ({"title": "t"}, 400, "source_branch, target_branch is missing"),
        (
            {"source_branch": "main", "target_branch": "main", "title": "t"},
            422,
            ["You can't use same project/branch for source and target"],
        ),
        (
            {"source_branch": "nope", "target_branch": "main", "title": "t"},
            400,
            {"base": ['Source branch "nope" does not exist']},
        ),
        (
            {"source_branch": "nope", "target_branch": "gone", "title": "t"},
            400,
            {
                "base": [
                    'Source branch "nope" does not exist',
                    'Target branch "gone" does not exist',
                ]
            },
        ),
    ],
)
def test_create_refusals(project, gl, data, status, message) -> None:
    """Missing params (Grape form), same branch (422), missing branch (400)."""
    with pytest.raises(gitlab.GitlabHttpError) as excinfo:
        gl.http_post(f"/projects/{project.id}/merge_requests", post_data=data)

    assert error_of(excinfo) == (status, message)
    assert project.mergerequests.list() == []


def test_duplicate_open_mr_is_409_but_other_target_is_fine(project) -> None:
    """Same source+target while open -> 409 naming !iid; another target is allowed."""
    open_mr(project)
    write_file(project, "release", "r.txt", "r\n", start="main")

    with pytest.raises(gitlab.GitlabCreateError) as excinfo:
        project.mergerequests.create(
            {"source_branch": "feature", "target_branch": "main", "title": "again"}
        )
    other = project.mergerequests.create(
        {"source_branch": "feature", "target_branch": "release", "title": "r"}
    )

    assert error_of(excinfo) == (
        409,
        ["Another open merge request already exists for this source branch: !1"],
    )
    assert other.iid == 2


def test_stranger_cannot_create(project, sandbox, gl) -> None:
    """A user without access cannot see the project: 404, not 403."""
    _, stranger = user_client(sandbox, gl, "stranger")
    write_file(project, "feature", "f.txt", "f\n", start="main")

    with pytest.raises(gitlab.GitlabCreateError) as excinfo:
        stranger.projects.get(project.id, lazy=True).mergerequests.create(
            {"source_branch": "feature", "target_branch": "main", "title": "x"}
        )
    assert error_of(excinfo) == (404, "404 Project Not Found")


def test_list_filters(project, gl) -> None:
    """state (default all), branches, labels (None/Any), iids, author, view."""
    first = open_mr(project, "one", labels="a")
    open_mr(project, "two", labels="a,b")
    open_mr(project, "three")
    first.state_event = "close"
    first.save()

    def iids(**filters):
        return sorted(mr.iid for mr in project.mergerequests.list(**filters))

    assert iids() == [1, 2, 3]
    assert iids(state="opened") == [2, 3]
    assert iids(state="closed") == [1]
    assert iids(source_branch="two") == [2]
    assert iids(target_branch="main", state="opened") == [2, 3]
    assert iids(labels="a") == [1, 2]
    assert iids(labels="a,b") == [2]
    assert iids(labels="None") == [3]
    assert iids(labels="Any") == [1, 2]
    assert iids(iids=[1, 3]) == [1, 3]
    assert iids(author_username="root") == [1, 2, 3]
    assert iids(author_username="nobody") == []
    assert [mr.iid for mr in project.mergerequests.list()] == [3, 2, 1]
    assert [mr.iid for mr in project.mergerequests.list(sort="asc")] == [1, 2, 3]
    assert [
        mr.title for mr in project.mergerequests.list(order_by="title", sort="asc")
    ] == [
        "Add one",
        "Add three",
        "Add two",
    ]
    simple = project.mergerequests.list(view="simple")[0].asdict()
    assert set(simple) == {
        "id",
        "iid",
        "project_id",
        "title",
        "description",
        "state",
        "created_at",
        "updated_at",
        "web_url",
    }


def test_list_entries_are_basic_and_paginated(project, gl) -> None:
    """Lists omit diff_refs/head_pipeline and page with GitLab's headers."""
    for name in ("p1", "p2", "p3"):
        open_mr(project, name)

    page = project.mergerequests.list(per_page=2, page=1)
    response = gl.http_get(
        f"/projects/{project.id}/merge_requests", query_data={"per_page": 2}, raw=True
    )

    assert len(page) == 2 and "diff_refs" not in page[0].asdict()
    assert response.headers["X-Total"] == "3" and response.headers["X-Next-Page"] == "2"
    assert 'rel="next"' in response.headers["Link"]
    assert len(project.mergerequests.list(get_all=True, per_page=2)) == 3


def test_list_status_follows_the_target_head(make_project) -> None:
    """The cached git facts are keyed by both heads: a moved target shows up."""
    project = make_project("ff-list", merge_method="ff")
    mr = open_mr(project)
    settle(project, mr.iid)

    def listed() -> str:
        entries = project.mergerequests.list(state="opened")
        while entries[0].detailed_merge_status == "checking":
            entries = project.mergerequests.list(state="opened")
        return entries[0].detailed_merge_status

    assert listed() == "mergeable"
    write_file(project, "main", "other.txt", "x\n")
    assert listed() == "need_rebase"


def test_list_refuses_unknown_state(project, gl) -> None:
    """A state outside opened/closed/locked/merged/all is Grape's 400."""
    with pytest.raises(gitlab.GitlabListError) as excinfo:
        project.mergerequests.list(state="weird")

    assert error_of(excinfo) == (400, "state does not have a valid value")


def test_get_unknown_mr_is_404(project) -> None:
    """An iid that does not exist answers 404 Not found."""
    with pytest.raises(gitlab.GitlabGetError) as excinfo:
        project.mergerequests.get(42)

    assert error_of(excinfo) == (404, "404 Not found")


def test_update_title_description_and_draft(project) -> None:
    """Title edits drive draft; description changes; system notes record both."""
    mr = open_mr(project)
    mr.title = "Draft: Add feature"
    mr.description = "new text"
    mr.save()

    assert mr.draft is True and mr.work_in_progress is True
    assert mr.description == "new text"
    assert settle(project, mr.iid).detailed_merge_status == "draft_status"
    system = [note.body for note in mr.notes.list(get_all=True) if note.system]
    assert "marked this merge request as **draft**" in system
    assert "changed the description" in system


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"labels": "x,y"}, ["x", "y"]),
        ({"labels": ""}, []),
        ({"add_labels": "c"}, ["a", "prio::low", "c"]),
        ({"remove_labels": "a"}, ["prio::low"]),
        ({"add_labels": "prio::high"}, ["a", "prio::high"]),
    ],
)
def test_update_labels_premium(project, gl, edit, expected) -> None:
    """labels replaces; add/remove edit; a scoped label evicts its scope-mate."""
    mr = open_mr(project, labels="a,prio::low")
    gl.http_put(f"/projects/{project.id}/merge_requests/{mr.iid}", post_data=edit)

    assert project.mergerequests.get(mr.iid).labels == expected


def test_scoped_labels_mean_nothing_on_free(make_user, sandbox) -> None:
    """On the free tier both prio:: labels stay."""
    from bot.sandbox.server import SandboxThread
    from bot.sandbox.testing import client, create_project

    with SandboxThread(tier="free") as free:
        free_gl = client(free, free.root_token)
        project = create_project(free_gl, "free")
        mr = open_mr(project, labels="prio::low")
        mr.labels = ["prio::low", "prio::high"]
        mr.save()
        assert project.mergerequests.get(mr.iid).labels == ["prio::low", "prio::high"]


def test_update_needs_at_least_one_parameter(project, gl) -> None:
    """An empty update is Grape's 400 and changes nothing."""
    mr = open_mr(project)

    with pytest.raises(gitlab.GitlabHttpError) as excinfo:
        gl.http_put(f"/projects/{project.id}/merge_requests/{mr.iid}", post_data={})

    assert excinfo.value.response_code == 400
    assert "at least one parameter must be provided" in excinfo.value.error_message
    assert project.mergerequests.get(mr.iid).title == "Add feature"


def test_blank_title_is_refused(project) -> None:
    """A blank title is a validation error and leaves the MR as it was."""
    mr = open_mr(project)
    mr.title = " "

    with pytest.raises(gitlab.GitlabUpdateError) as excinfo:
        mr.save()

    assert error_of(excinfo) == (400, {"title": ["can't be blank"]})
    assert project.mergerequests.get(mr.iid).title == "Add feature"


def test_close_reopen_and_people(project, sandbox, gl) -> None:
    """state_event closes and reopens; assignees and reviewers are set and cleared."""
    dev, _ = user_client(sandbox, gl, "dev")
    mr = open_mr(project, assignee_ids=[dev.id], reviewer_ids=[dev.id, 999])

    assert [a["id"] for a in mr.assignees] == [dev.id] and mr.assignee["id"] == dev.id
    assert [r["id"] for r in mr.reviewers] == [dev.id]

    mr.state_event = "close"
    mr.save()
    assert mr.state == "closed" and mr.closed_by["username"] == "root"
    assert settle(project, mr.iid).detailed_merge_status == "not_open"

    mr.state_event = "reopen"
    mr.assignee_ids = []
    mr.save()
    assert mr.state == "opened" and mr.assignees == [] and mr.closed_at is None


def test_retarget_collision_is_409(project) -> None:
    """Changing target_branch onto another open MR's pair is refused."""
    write_file(project, "release", "r.txt", "r\n", start="main")
    open_mr(project)
    other = project.mergerequests.create(
        {"source_branch": "feature", "target_branch": "release", "title": "r"}
    )
    other.target_branch = "main"

    with pytest.raises(gitlab.GitlabUpdateError) as excinfo:
        other.save()

    assert excinfo.value.response_code == 409
    assert project.mergerequests.get(other.iid).target_branch == "release"


def test_changes_diffs_and_commits(project, gl) -> None:
    """changes/diffs carry the file diff; commits lists the source commits."""
    mr = open_mr(project)
    write_file(project, "feature", "feature.txt", "feature\nmore\n")

    changes = mr.changes()
    diffs = gl.http_list(
        f"/projects/{project.id}/merge_requests/{mr.iid}/diffs", get_all=True
    )
    commits = list(mr.commits())

    assert [c["new_path"] for c in changes["changes"]] == ["feature.txt"]
    assert changes["changes"][0]["new_file"] is True
    assert "+more" in diffs[0]["diff"]
    assert len(commits) == 2 and commits[0].id == project.mergerequests.get(mr.iid).sha
