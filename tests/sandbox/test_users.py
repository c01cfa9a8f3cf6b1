"""Users and personal access tokens through python-gitlab."""

from __future__ import annotations

import gitlab
import pytest

from bot.sandbox.testing import client


def _new(gl, username="alice", **extra):
    data = {
        "username": username,
        "name": "Alice",
        "email": f"{username}@example.com",
        "password": "sandbox-password-1",
        **extra,
    }
    return gl.users.create(data)


def test_admin_creates_a_user_and_a_token_that_works(gl, sandbox) -> None:
    """POST /users and POST /users/:id/personal_access_tokens give a working login."""
    user = _new(gl)

    token = user.personal_access_tokens.create({"name": "ci", "scopes": ["api"]})
    theirs = client(sandbox, token.token)
    theirs.auth()

    assert theirs.user.username == "alice"
    assert theirs.user.email == "alice@example.com"
    assert token.scopes == ["api"] and token.active is True
    assert token.token.startswith("glpat-")


def test_current_user_is_root_for_the_root_token(gl) -> None:
    """GET /user with the root token is the administrator root."""
    gl.auth()

    assert (gl.user.username, gl.user.is_admin) == ("root", True)


def test_bearer_authorization_is_accepted(sandbox) -> None:
    """Authorization: Bearer <token> authenticates like PRIVATE-TOKEN."""
    bearer = gitlab.Gitlab(sandbox.url, oauth_token=sandbox.root_token)

    bearer.auth()

    assert bearer.user.username == "root"


def test_non_admin_cannot_create_users(make_user) -> None:
    """POST /users by a regular user is 403 Forbidden."""
    _, theirs = make_user("bob")

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        _new(theirs, "carol")

    assert (caught.value.response_code, caught.value.error_message) == (
        403,
        "403 Forbidden",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"username": "ALICE", "email": "other@example.com"},
            "Username has already been taken",
        ),
        (
            {"username": "alice2", "email": "alice@example.com"},
            "Email has already been taken",
        ),
    ],
)
def test_duplicates_are_409(gl, change, message) -> None:
    """A taken username or email is 409 with GitLab's text."""
    _new(gl)
    count = len(gl.users.list(get_all=True))

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        gl.users.create({"name": "X", "password": "sandbox-password-1", **change})

    assert (caught.value.response_code, caught.value.error_message) == (409, message)
    assert len(gl.users.list(get_all=True)) == count


def test_missing_username_is_a_grape_400(gl) -> None:
    """POST /users without username is 400 username is missing."""
    with pytest.raises(gitlab.GitlabHttpError) as caught:
        gl.http_post("/users", post_data={"name": "X", "email": "x@example.com"})

    assert (caught.value.response_code, caught.value.error_message) == (
        400,
        "username is missing",
    )


def test_list_and_filter_users(gl) -> None:
    """GET /users lists everyone; username= filters to one."""
    _new(gl)

    everyone = [u.username for u in gl.users.list()]
    only = gl.users.list(username="alice")

    assert everyone == ["root", "alice"]
    assert [u.username for u in only] == ["alice"]


def test_unknown_user_is_404(gl) -> None:
    """GET /users/:id of nobody is 404 User Not Found."""
    with pytest.raises(gitlab.GitlabGetError) as caught:
        gl.users.get(999)

    assert caught.value.error_message == "404 User Not Found"


def test_token_scopes_are_validated(gl) -> None:
    """A token with an unknown scope is refused; none is created."""
    user = _new(gl)

    with pytest.raises(gitlab.GitlabCreateError) as caught:
        user.personal_access_tokens.create({"name": "x", "scopes": ["everything"]})

    assert (caught.value.response_code, caught.value.error_message) == (
        400,
        "scopes does not have a valid value",
    )


def test_blocked_user_token_stops_working(gl, make_user) -> None:
    """A blocked user's token is refused with 401."""
    user, theirs = make_user("mallory")
    user.block()

    with pytest.raises(gitlab.GitlabAuthenticationError) as caught:
        theirs.auth()

    assert caught.value.response_code == 401
