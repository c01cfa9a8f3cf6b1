"""Webhook payloads become our frozen event values, or a precise refusal."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest

from bot.server.events import (
    EmojiEvent,
    MalformedEvent,
    MergeRequestEvent,
    NoteEvent,
    PipelineEvent,
    parse_event,
)
from tests.conftest import GITLAB_FIXTURES, require_shared

OWN = Path(__file__).resolve().parent.parent / "data" / "server" / "webhooks"
SHA = "2222222222222222222222222222222222222222"


def own(name: str) -> dict[str, Any]:
    """One of our own small payloads."""
    return json.loads((OWN / f"{name}.json").read_text())


def shared(name: str) -> dict[str, Any]:
    """One of GitLab's documented payloads from ../shared (skip when absent)."""
    path = require_shared(GITLAB_FIXTURES / "webhooks" / f"{name}.json")
    return json.loads(path.read_text())


OWN_CASES = [
    (
        "merge_request",
        MergeRequestEvent(
            project_path="root/gitops",
            iid=3,
            action="update",
            state="opened",
            head_sha=SHA,
            source_branch="gitops/staging/web",
            target_branch="main",
            labels=("gitops-bot", "env::staging"),
            author_id=2,
            actor_id=7,
            draft=False,
            detailed_merge_status="mergeable",
            oldrev="1" * 40,
        ),
    ),
    (
        "pipeline",
        PipelineEvent(
            project_path="root/gitops",
            pipeline_id=55,
            sha=SHA,
            ref="refs/merge-requests/3/head",
            status="failed",
            source="merge_request_event",
            merge_request_iid=3,
        ),
    ),
    (
        "note",
        NoteEvent(
            project_path="root/gitops",
            note_id=901,
            noteable_type="MergeRequest",
            merge_request_iid=3,
            author_id=7,
            author_username="alice",
            body="/gitops hold waiting for the freeze",
            action="update",
            system=False,
        ),
    ),
    (
        "emoji",
        EmojiEvent(
            project_path="root/gitops",
            name="thumbsup",
            action="award",
            awardable_type="MergeRequest",
            awardable_id=90,
            user_id=7,
            merge_request_iid=3,
        ),
    ),
]


@pytest.mark.parametrize(("name", "expected"), OWN_CASES)
def test_own_payloads_parse_to_events(name: str, expected: object) -> None:
    """Each handled kind becomes its event with exactly the fields we use."""
    assert parse_event(own(name)) == expected


def test_events_are_frozen() -> None:
    """Handlers cannot change an event they share with other handlers."""
    event = parse_event(own("note"))
    with pytest.raises(FrozenInstanceError):
        event.body = "/gitops merge"  # type: ignore[misc, union-attr]


@pytest.mark.parametrize(
    "payload", [own("push"), {"object_kind": "build"}, {"object_kind": "issue"}, {}]
)
def test_unhandled_kinds_are_ignored(payload: dict[str, Any]) -> None:
    """Kinds the bot does not handle parse to None, whatever their shape."""
    assert parse_event(payload) is None


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    node = payload
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return payload


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "webhook field body: expected an object"),
        (
            _without(own("merge_request"), "object_attributes", "iid"),
            "webhook field object_attributes.iid is missing",
        ),
        (
            _without(own("pipeline"), "project"),
            "webhook field project: expected an object",
        ),
        (
            {**own("note"), "user": {"id": "7", "username": "alice"}},
            "webhook field user.id: expected int",
        ),
        (
            {**own("emoji"), "object_attributes": {"name": True}},
            "webhook field object_attributes.name: expected str",
        ),
    ],
)
def test_malformed_payloads_name_the_field(payload: Any, message: str) -> None:
    """A handled kind missing a field, or with a wrong type, names that field."""
    with pytest.raises(MalformedEvent) as raised:
        parse_event(payload)
    assert str(raised.value) == message


def test_note_on_an_issue_has_no_merge_request() -> None:
    """A note on an issue or commit never claims a merge request iid."""
    payload = own("note")
    payload["object_attributes"]["noteable_type"] = "Issue"
    event = parse_event(payload)
    assert isinstance(event, NoteEvent)
    assert event.merge_request_iid is None


# GitLab's documented payloads (../shared/fixtures/gitlab/webhooks)


@pytest.mark.parametrize(
    ("name", "action", "state"),
    [
        ("merge_request_open", "open", "opened"),
        ("merge_request_update", "update", "opened"),
        ("merge_request_approved", "approved", "opened"),
        ("merge_request_merge", "merge", "merged"),
    ],
)
def test_gitlab_merge_request_payloads(name: str, action: str, state: str) -> None:
    """GitLab's merge request examples parse with their action and state."""
    event = parse_event(shared(name))
    assert isinstance(event, MergeRequestEvent)
    assert (event.project_path, event.iid) == ("gitlabhq/gitlab-test", 1)
    assert (event.action, event.state) == (action, state)
    assert event.head_sha == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert event.labels == ("API",)
    assert (event.author_id, event.actor_id) == (51, 1)


def test_gitlab_pipeline_payload() -> None:
    """GitLab's merge request pipeline example names its MR and SHA."""
    event = parse_event(shared("pipeline_event"))
    assert event == PipelineEvent(
        project_path="gitlab-org/gitlab-test",
        pipeline_id=31,
        sha="bcbb5ec396a2c0f828686f14fac9b80b780504f2",
        ref="master",
        status="success",
        source="merge_request_event",
        merge_request_iid=1,
    )


def test_gitlab_note_payload() -> None:
    """GitLab's merge request comment example becomes a NoteEvent."""
    event = parse_event(shared("note_merge_request"))
    assert isinstance(event, NoteEvent)
    assert (event.note_id, event.merge_request_iid) == (1244, 1)
    assert (event.author_id, event.author_username) == (1, "root")
    assert (event.body, event.action) == ("This MR needs work.", "create")


def test_gitlab_emoji_payload() -> None:
    """GitLab's emoji example (on an issue's note) has no merge request."""
    event = parse_event(shared("emoji_event"))
    assert event == EmojiEvent(
        project_path="flightjs/Flight",
        name="thumbsup",
        action="award",
        awardable_type="Note",
        awardable_id=363,
        user_id=1,
        merge_request_iid=None,
    )


@pytest.mark.parametrize("name", ["push_event", "tag_push_event", "job_event"])
def test_gitlab_unhandled_payloads(name: str) -> None:
    """GitLab's push, tag and job examples are acknowledged and ignored."""
    assert parse_event(shared(name)) is None
