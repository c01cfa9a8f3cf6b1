"""Contract tests: notes, award emoji, project labels, and the hooks they fire."""

from __future__ import annotations

import json

import gitlab
import pytest

from bot.sandbox.records import DEVELOPER
from tests.conftest import GITLAB_FIXTURES, require_shared
from tests.sandbox.mr_support import (
    add_hook,
    add_member,
    error_of,
    hook_bodies,
    open_mr,
    same_shape,
    user_client,
    write_file,
)

OWN_KEYS = {
    "merge_request": {
        "object_kind",
        "event_type",
        "user",
        "project",
        "repository",
        "object_attributes",
        "labels",
        "changes",
        "assignees",
        "reviewers",
    },
    "note": {
        "object_kind",
        "event_type",
        "user",
        "project_id",
        "project",
        "object_attributes",
        "merge_request",
    },
}
OWN_KEYS["emoji"] = OWN_KEYS["note"]  # same envelope around another object


@pytest.fixture
def project(make_project, sandbox):
    """A fresh project whose hook records MR, note and emoji events."""
    created = make_project("shop")
    add_hook(sandbox, created.id)
    return created


def fixture(name: str) -> dict:
    """A shared webhook payload."""
    return json.loads(require_shared(GITLAB_FIXTURES / "webhooks" / name).read_text())


def test_notes_crud_counts_and_system_notes(project) -> None:
    """Create/get/update/delete; user_notes_count ignores system notes."""
    mr = open_mr(project, labels="a")
    note = mr.notes.create({"body": "Looks good"})
    mr.labels = ["b"]
    mr.save()

    assert (
        note.system is False
        and note.noteable_iid == mr.iid
        and note.noteable_type == "MergeRequest"
    )
    notes = mr.notes.list(get_all=True)
    assert any(n.system and n.body.startswith("added ~") for n in notes)
    assert project.mergerequests.get(mr.iid).user_notes_count == 1

    note.body = "Edited"
    note.save()
    assert mr.notes.get(note.id).body == "Edited"
    note.delete()
    with pytest.raises(gitlab.GitlabGetError) as excinfo:
        mr.notes.get(note.id)
    assert error_of(excinfo) == (404, "404 Not found")


def test_note_refusals(project, sandbox, gl) -> None:
    """Missing body is Grape's 400; another user's note cannot be edited (403)."""
    dev, dev_gl = user_client(sandbox, gl, "dev")
    add_member(sandbox, project.id, dev.id, DEVELOPER)
    mr = open_mr(project)
    note = mr.notes.create({"body": "mine"})

    with pytest.raises(gitlab.GitlabHttpError) as excinfo:
        gl.http_post(
            f"/projects/{project.id}/merge_requests/{mr.iid}/notes", post_data={}
        )
    assert error_of(excinfo) == (400, "body is missing")

    theirs = dev_gl.projects.get(project.id, lazy=True).mergerequests.get(
        mr.iid, lazy=True
    )
    with pytest.raises(gitlab.GitlabUpdateError) as excinfo:
        theirs.notes.update(note.id, {"body": "hijack"})
    assert error_of(excinfo) == (403, "403 Forbidden")
    assert mr.notes.get(note.id).body == "mine"


def test_award_emoji_on_mr_and_note(project, sandbox, gl) -> None:
    """Awards list/create/delete; repeats and bad names give GitLab's 404 texts."""
    dev, dev_gl = user_client(sandbox, gl, "dev")
    add_member(sandbox, project.id, dev.id, DEVELOPER)
    mr = open_mr(project)
    award = mr.awardemojis.create({"name": "thumbsup"})
    note = mr.notes.create({"body": "x"})
    on_note = note.awardemojis.create({"name": "rocket"})

    assert award.awardable_type == "MergeRequest" and award.user["username"] == "root"
    assert on_note.awardable_type == "Note" and on_note.awardable_id == note.id
    assert project.mergerequests.get(mr.iid).upvotes == 1
    for name, message in (
        ("thumbsup", "404 Award Emoji Name has already been taken Not Found"),
        ("not an emoji", "404 Award Emoji Name is not a valid emoji name Not Found"),
    ):
        with pytest.raises(gitlab.GitlabCreateError) as excinfo:
            mr.awardemojis.create({"name": name})
        assert error_of(excinfo) == (404, message)

    theirs = dev_gl.projects.get(project.id, lazy=True).mergerequests.get(
        mr.iid, lazy=True
    )
    with pytest.raises(gitlab.GitlabDeleteError) as excinfo:
        theirs.awardemojis.delete(award.id)
    assert error_of(excinfo) == (403, "403 Forbidden")
    award.delete()
    assert [a.name for a in mr.awardemojis.list()] == []
    assert [a.name for a in note.awardemojis.list()] == ["rocket"]


def test_project_labels(project) -> None:
    """Create (201), duplicate (409), bad colour (400), get by title, delete."""
    label = project.labels.create({"name": "feature", "color": "#5843AD"})
    fixture_body = json.loads(
        require_shared(GITLAB_FIXTURES / "api/label_create.json").read_text()
    )

    assert same_shape(fixture_body, label.asdict()) == []
    assert label.text_color == "#FFFFFF" and label.is_project_label is True
    with pytest.raises(gitlab.GitlabCreateError) as excinfo:
        project.labels.create({"name": "feature", "color": "#000000"})
    assert error_of(excinfo) == (409, "Label already exists")
    with pytest.raises(gitlab.GitlabCreateError) as excinfo:
        project.labels.create({"name": "other", "color": "nonsense"})
    assert error_of(excinfo) == (400, {"color": ["must be a valid color code"]})

    assert project.labels.get("feature").id == label.id
    project.labels.delete("feature")
    assert [found.name for found in project.labels.list()] == []


def test_mr_hooks_follow_the_lifecycle(project, sandbox) -> None:
    """open, update (with changes), approved, merge; bodies shaped like the fixtures."""
    dev, dev_gl = user_client(sandbox, project.manager.gitlab, "dev")
    add_member(sandbox, project.id, dev.id, DEVELOPER)
    mr = open_mr(project, labels="API", assignee_ids=[dev.id], reviewer_ids=[dev.id])
    mr.labels = ["Platform"]
    mr.title = "Draft: Add feature"
    mr.save()
    mr.title = "Add feature"
    mr.save()
    dev_gl.projects.get(project.id, lazy=True).mergerequests.get(mr.iid).approve()
    mr.merge()

    bodies = hook_bodies(sandbox, "Merge Request Hook")
    actions = [b["object_attributes"]["action"] for b in bodies]
    assert actions == ["open", "update", "update", "approved", "merge"]
    assert bodies[1]["changes"]["labels"]["previous"][0]["title"] == "API"
    assert bodies[1]["changes"]["labels"]["current"][0]["title"] == "Platform"
    assert bodies[1]["changes"]["draft"] == {"previous": False, "current": True}
    assert bodies[-1]["object_attributes"]["state"] == "merged"
    for body in bodies:
        assert OWN_KEYS["merge_request"] <= set(body)

    shapes = {
        "open": "merge_request_open.json",
        "update": "merge_request_update.json",
        "approved": "merge_request_approved.json",
        "merge": "merge_request_merge.json",
    }
    for body in bodies:
        expected = fixture(shapes[body["object_attributes"]["action"]])
        expected.pop("changes")  # only the fields that changed appear
        assert same_shape(expected, body) == []


def test_push_update_hook_carries_oldrev(project, sandbox) -> None:
    """A push to the source sends update with object_attributes.oldrev."""
    mr = open_mr(project)
    write_file(project, "feature", "feature.txt", "v2\n")

    update = hook_bodies(sandbox, "Merge Request Hook")[-1]
    assert update["object_attributes"]["action"] == "update"
    assert update["object_attributes"]["oldrev"] == mr.sha


def test_note_and_emoji_hooks(project, sandbox) -> None:
    """User notes and awards fire fixture-shaped hooks; system notes do not."""
    mr = open_mr(project)
    note = mr.notes.create({"body": "This MR needs work."})
    note.awardemojis.create({"name": "thumbsup"})
    mr.state_event = "close"
    mr.save()

    notes = hook_bodies(sandbox, "Note Hook")
    emojis = hook_bodies(sandbox, "Emoji Hook")
    assert [n["object_attributes"]["note"] for n in notes] == ["This MR needs work."]
    assert notes[0]["merge_request"]["iid"] == mr.iid
    assert emojis[0]["object_attributes"]["awardable_type"] == "Note"
    assert emojis[0]["note"]["id"] == note.id
    assert OWN_KEYS["note"] <= set(notes[0]) and OWN_KEYS["emoji"] <= set(emojis[0])

    note_fixture = fixture("note_merge_request.json")
    assert same_shape(note_fixture, notes[0]) == []
    emoji_fixture = fixture("emoji_event.json")
    emoji_fixture.pop("issue")  # an award on an issue's note; ours is on an MR
    emoji_fixture["note"].pop("noteable_type")
    assert same_shape(emoji_fixture, emojis[0]) == []


def test_ee_approval_hooks(project, sandbox, gl) -> None:
    """Premium with a rule of 2: approval, then approved; unapprove -> unapproved."""
    first, first_gl = user_client(sandbox, gl, "first")
    second, second_gl = user_client(sandbox, gl, "second")
    for user in (first, second):
        add_member(sandbox, project.id, user.id, DEVELOPER)
    mr = open_mr(project)
    mr.approval_rules.create({"name": "two", "approvals_required": 2})

    def as_user(client):
        return client.projects.get(project.id, lazy=True).mergerequests.get(mr.iid)

    as_user(first_gl).approve()
    as_user(second_gl).approve()
    as_user(second_gl).unapprove()
    as_user(second_gl).approve()
    as_user(first_gl).unapprove()
    actions = [
        b["object_attributes"]["action"]
        for b in hook_bodies(sandbox, "Merge Request Hook")
    ]

    assert actions == [
        "open",
        "approval",
        "approved",
        "unapproved",
        "approved",
        "unapproved",
    ]
