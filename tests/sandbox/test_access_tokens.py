"""Project access tokens: bot users, their membership, and GitLab's refusals."""

from __future__ import annotations

import re

import gitlab
import pytest

from bot.sandbox.records import DEVELOPER, MAINTAINER, OWNER
from bot.sandbox.testing import client
from tests.sandbox.mr_support import add_member, error_of


@pytest.fixture
def project(make_project):
    """A fresh project owned by root."""
    return make_project("tokens")


def test_create_makes_a_bot_member_whose_token_works(project, sandbox, gl) -> None:
    """201 with the token; its user is a bot named project_<id>_bot_<hex>."""
    token = project.access_tokens.create(
        {"name": "mr-bot", "scopes": ["api"], "access_level": DEVELOPER}
    )

    as_bot = client(sandbox, token.token)
    as_bot.auth()
    bot = as_bot.user
    assert re.fullmatch(rf"project_{project.id}_bot_[0-9a-f]{{32}}", bot.username)
    assert (bot.bot, bot.name, bot.email) == (
        True,
        "mr-bot",
        f"{bot.username}@noreply.127.0.0.1",
    )
    assert (token.access_level, token.resource_type, token.resource_id) == (
        DEVELOPER,
        "project",
        project.id,
    )
    assert project.members.get(bot.id).access_level == DEVELOPER
    assert gl.users.get(bot.id).bot is True
    assert [t.id for t in project.access_tokens.list()] == [token.id]
    assert "token" not in project.access_tokens.list()[0].asdict()


def test_access_level_defaults_to_maintainer(project) -> None:
    """Without access_level the bot is a Maintainer, as GitLab's default."""
    token = project.access_tokens.create({"name": "ops", "scopes": ["read_api"]})

    assert token.access_level == MAINTAINER


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x"}, "scopes is missing"),
        ({"name": "x", "scopes": ["sudo"]}, "scopes does not have a valid value"),
        ({"name": "x", "scopes": ["read_user"]}, "scopes does not have a valid value"),
        (
            {"name": "x", "scopes": ["api"], "access_level": 45},
            "access_level does not have a valid value",
        ),
    ],
)
def test_invalid_parameters_are_grape_400s(project, gl, data, message) -> None:
    """Missing or out-of-range parameters: 400 in Grape's shape, no bot made."""
    users_before = len(gl.users.list(get_all=True))

    with pytest.raises(gitlab.GitlabHttpError) as excinfo:
        gl.http_post(f"/projects/{project.id}/access_tokens", post_data=data)

    assert error_of(excinfo) == (400, message)
    assert len(gl.users.list(get_all=True)) == users_before


def test_developer_cannot_create_and_maintainer_cannot_mint_owner(
    project, sandbox, gl, make_user
) -> None:
    """Below Maintainer, or above one's own level: 400 with GitLab's words."""
    dev, dev_gl = make_user("dev")
    maintainer, maintainer_gl = make_user("maint")
    add_member(sandbox, project.id, dev.id, DEVELOPER)
    add_member(sandbox, project.id, maintainer.id, MAINTAINER)
    users_before = len(gl.users.list(get_all=True))

    def refusal(who: gitlab.Gitlab, level: int) -> tuple[int, object]:
        theirs = who.projects.get(project.id, lazy=True)
        with pytest.raises(gitlab.GitlabCreateError) as excinfo:
            theirs.access_tokens.create(
                {"name": "x", "scopes": ["api"], "access_level": level}
            )
        return error_of(excinfo)

    assert refusal(dev_gl, DEVELOPER) == (
        400,
        "400 Bad request - User does not have permission to create project "
        "access token",
    )
    assert refusal(maintainer_gl, OWNER) == (
        400,
        "400 Bad request - Access level of the token contains permissions not "
        "held by the creating user",
    )
    assert len(gl.users.list(get_all=True)) == users_before


def test_developer_cannot_list_tokens(project, sandbox, make_user) -> None:
    """Listing needs Maintainer; below it GitLab answers 401."""
    dev, dev_gl = make_user("dev")
    add_member(sandbox, project.id, dev.id, DEVELOPER)

    # python-gitlab raises its authentication error for every 401.
    with pytest.raises(gitlab.GitlabAuthenticationError) as excinfo:
        dev_gl.projects.get(project.id, lazy=True).access_tokens.list()

    assert error_of(excinfo) == (401, "401 Unauthorized")


def test_bot_flag_survives_a_restart(tmp_path) -> None:
    """The bot flag is stored with the user and read back after a restart."""
    from bot.sandbox.server import SandboxThread
    from bot.sandbox.testing import create_project

    with SandboxThread(data_dir=tmp_path) as first:
        admin = client(first, first.root_token)
        project = create_project(admin, "p")
        token = project.access_tokens.create({"name": "b", "scopes": ["api"]})
        root_token = first.root_token

    with SandboxThread(data_dir=tmp_path, root_token=root_token) as second:
        as_bot = client(second, token.token)
        as_bot.auth()
        assert as_bot.user.bot is True
