"""Service tag pipelines call the bot with their GitLab CI/CD ID token."""

from __future__ import annotations

import requests

from bot.server.id_tokens import REFRESH_INTERVAL
from tests.service_ci.conftest import (
    World,
    changed_lines,
    job_log,
    staging_labels,
    tag_bump,
    trigger_ci,
)

SERVICE_CI = trigger_ci("web")


def test_tags_open_then_update_one_merge_request(world: World) -> None:
    """A tag opens the MR; a second tag updates the same MR; diffs bump one line."""
    web = world.project(
        "shop/web", {".gitlab-ci.yml": SERVICE_CI}, GITOPS_BOT_URL=world.bot_url
    )

    first = world.tag(web, "v1.1.0")
    log = job_log(web, first)
    assert first.status == "success", log
    [mr] = world.bot_mrs("web")
    assert mr.web_url in log, "the job prints the MR's URL"
    assert (mr.state, mr.title) == ("opened", "Deploy web v1.1.0 to staging")
    assert set(mr.labels) == staging_labels("web")
    assert changed_lines(mr) == tag_bump("v1.0.0", "v1.1.0")

    second = world.tag(web, "v1.2.0")
    assert second.status == "success", job_log(web, second)
    [updated] = world.bot_mrs("web")
    assert updated.iid == mr.iid
    assert updated.title == "Deploy web v1.2.0 to staging"
    assert changed_lines(updated) == tag_bump("v1.0.0", "v1.2.0")


def rotate_keys(world: World) -> None:
    """Rotate the sandbox's CI signing key and retire the old one."""
    rotated = requests.post(
        f"{world.sandbox.url}/-/sandbox/rotate-keys",
        json={"retire_previous": True},
        headers={"PRIVATE-TOKEN": world.sandbox.root_token},
        timeout=10,
    )
    assert rotated.status_code == 201
    assert rotated.json()["published"] == [rotated.json()["kid"]]


def test_new_job_authenticates_after_the_instance_rotates_its_key(
    world: World,
) -> None:
    """A rotation retiring the old key, some time later: the next job deploys."""
    web = world.project(
        "shop/web", {".gitlab-ci.yml": SERVICE_CI}, GITOPS_BOT_URL=world.bot_url
    )
    before = world.tag(web, "v1.1.0")
    assert before.status == "success", job_log(web, before)

    rotate_keys(world)
    world.clock.advance(REFRESH_INTERVAL)

    after = world.tag(web, "v1.2.0")
    assert after.status == "success", job_log(web, after)
    [mr] = world.bot_mrs("web")
    assert changed_lines(mr) == tag_bump("v1.0.0", "v1.2.0")


def test_job_right_after_a_rotation_authenticates(world: World) -> None:
    """A rotation right after a deploy: the very next tag job still deploys."""
    web = world.project(
        "shop/web", {".gitlab-ci.yml": SERVICE_CI}, GITOPS_BOT_URL=world.bot_url
    )
    assert world.tag(web, "v1.1.0").status == "success"

    rotate_keys(world)

    after = world.tag(web, "v1.2.0")
    assert after.status == "success", job_log(web, after)
