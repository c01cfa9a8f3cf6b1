"""Who may deploy what where, names, tags, digests and access levels."""

from __future__ import annotations

import pytest

from bot.config import UnknownName, load_config
from bot.errors import InvalidInput, Refused
from bot.policy import (
    AccessLevel,
    InvalidReference,
    NotAllowed,
    authorise,
    command_access_level,
    ensure_tag_allowed,
    validate_digest,
    validate_name,
    validate_tag,
)
from tests.conftest import ROOT

CONFIG = load_config(ROOT / "tests" / "data" / "config" / "policy.yaml", environ={})


@pytest.mark.parametrize(
    ("source", "app", "env"),
    [
        ("my-org/my-app", "my-app", "staging"),
        ("my-org/my-app", "my-app", "production"),
        ("my-org/release-tools", "my-app", "production"),
        ("MY-ORG/MY-APP", "my-app", "staging"),
        ("my-org/batch", "batch", "staging"),
    ],
)
def test_authorise_allows_listed_sources(source: str, app: str, env: str) -> None:
    """A listed source project (any case) may deploy the app where it runs."""
    assert authorise(CONFIG, source, app, env) is None


@pytest.mark.parametrize(
    ("source", "app", "env", "error", "message"),
    [
        (
            "my-org/other",
            "my-app",
            "staging",
            NotAllowed,
            "project my-org/other may not deploy app my-app; allowed sources: "
            "my-org/my-app, My-Org/Release-Tools",
        ),
        (
            "my-org/my-app",
            "batch",
            "staging",
            NotAllowed,
            "project my-org/my-app may not deploy app batch; allowed sources: "
            "my-org/batch",
        ),
        (
            "my-org/batch",
            "batch",
            "production",
            NotAllowed,
            "app batch is not deployed to environment production; its "
            "environments: staging",
        ),
        (
            "my-org/my-app/sub",
            "my-app",
            "staging",
            NotAllowed,
            "project my-org/my-app/sub may not deploy app my-app; allowed sources: "
            "my-org/my-app, My-Org/Release-Tools",
        ),
        (
            "my-org/my-app",
            "web",
            "staging",
            UnknownName,
            "unknown app 'web'; known: batch, my-app",
        ),
        (
            "my-org/my-app",
            "my-app",
            "qa",
            UnknownName,
            "unknown environment 'qa'; known: production, staging",
        ),
    ],
)
def test_authorise_refuses_naming_the_rule(
    source: str, app: str, env: str, error: type[Exception], message: str
) -> None:
    """Each refusal names the project, app, environment and the rule."""
    with pytest.raises(error) as caught:
        authorise(CONFIG, source, app, env)
    assert str(caught.value) == message


def test_error_classes_map_to_http_statuses() -> None:
    """Refusals are 403, unknown names 404, malformed references 400."""
    assert issubclass(NotAllowed, Refused) and NotAllowed.http_status == 403
    assert issubclass(UnknownName, InvalidInput) and UnknownName.http_status == 404
    assert issubclass(InvalidReference, InvalidInput)
    assert InvalidReference.http_status == 400


@pytest.mark.parametrize("tag", ["v1.2.3", "latest", "_x", "a" * 128, "1.0-rc.1_b"])
def test_valid_tags(tag: str) -> None:
    """Tags following the OCI grammar are returned unchanged."""
    assert validate_tag(tag) == tag


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("", "invalid tag ''"),
        (".hidden", "invalid tag '.hidden'"),
        ("-x", "invalid tag '-x'"),
        ("v1 2", "invalid tag 'v1 2'"),
        ("v1;rm", "invalid tag 'v1;rm'"),
        ("a" * 129, f"invalid tag '{'a' * 129}'"),
    ],
)
def test_invalid_tags(tag: str, message: str) -> None:
    """A malformed tag raises InvalidReference saying what is wrong where."""
    with pytest.raises(InvalidReference) as caught:
        validate_tag(tag)
    assert str(caught.value) == (
        f"{message}: expected at most 128 of A-Z a-z 0-9 _ . -, not starting "
        "with . or -"
    )


@pytest.mark.parametrize(
    ("digest", "valid"),
    [
        ("sha256:" + "a" * 64, True),
        ("sha256:" + "A" * 64, False),
        ("sha256:" + "a" * 63, False),
        ("sha256" + "a" * 64, False),
        ("md5:" + "a" * 32, False),
        ("a" * 64, False),
    ],
)
def test_digests(digest: str, valid: bool) -> None:
    """Digests are sha256 with 64 lower-case hex digits (or sha512)."""
    if valid:
        assert validate_digest(digest) == digest
    else:
        with pytest.raises(InvalidReference) as caught:
            validate_digest(digest)
        assert str(caught.value) == (
            f"invalid digest {digest!r}: expected sha256: and 64 lower-case hex "
            "digits (or sha512: and 128)"
        )


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("my-app", True),
        ("a", True),
        ("0day", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("My-App", False),
        ("-app", False),
        ("my_app", False),
        ("../etc", False),
        ("", False),
    ],
)
def test_names(name: str, valid: bool) -> None:
    """App and environment names in requests follow the configuration's rule."""
    if valid:
        assert validate_name("app", name) == name
    else:
        with pytest.raises(InvalidReference, match=f"^invalid app name {name!r}"):
            validate_name("app", name)


@pytest.mark.parametrize(
    ("env", "tag", "allowed"),
    [
        ("production", "v1.2.3", True),
        ("production", "v1.2.3-rc.1", False),
        ("production", "xv1.2.3", False),
        ("production", "1.2.3", False),
        ("staging", "anything-goes", True),
    ],
)
def test_tag_pattern_must_match_fully(env: str, tag: str, allowed: bool) -> None:
    """The environment's tag_pattern must match the whole tag."""
    environment = CONFIG.environment(env)
    if allowed:
        assert ensure_tag_allowed(environment, tag) is None
        return
    with pytest.raises(NotAllowed) as caught:
        ensure_tag_allowed(environment, tag)
    assert str(caught.value) == (
        f"tag {tag} does not match the tag pattern of environment production: "
        r"v\d+\.\d+\.\d+"
    )


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("guest", AccessLevel.GUEST),
        ("Reporter", AccessLevel.REPORTER),
        (" developer ", AccessLevel.DEVELOPER),
        ("MAINTAINER", AccessLevel.MAINTAINER),
        ("owner", AccessLevel.OWNER),
    ],
)
def test_access_level_names(name: str, level: AccessLevel) -> None:
    """Level names parse case-insensitively to GitLab's numbers."""
    assert AccessLevel.parse(name) is level
    assert level.label == name.strip().lower()


@pytest.mark.parametrize("name", ["admin", "none", "", "40"])
def test_unknown_access_level_names(name: str) -> None:
    """Other names are refused with the list of accepted ones."""
    with pytest.raises(ValueError, match="guest, reporter, developer, maintainer"):
        AccessLevel.parse(name)


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (0, AccessLevel.NONE),
        (5, AccessLevel.NONE),
        (10, AccessLevel.GUEST),
        (15, AccessLevel.GUEST),
        (20, AccessLevel.REPORTER),
        (30, AccessLevel.DEVELOPER),
        (40, AccessLevel.MAINTAINER),
        (50, AccessLevel.OWNER),
        (60, AccessLevel.OWNER),
    ],
)
def test_access_levels_from_gitlab_round_down(value: int, level: AccessLevel) -> None:
    """GitLab's numbers map to the highest known level not above them."""
    assert AccessLevel.from_gitlab(value) is level
    assert int(AccessLevel[level.name]) in (0, 10, 20, 30, 40, 50)


@pytest.mark.parametrize(
    ("env", "command", "frozen", "level"),
    [
        ("staging", "status", False, AccessLevel.REPORTER),
        ("staging", "merge", False, AccessLevel.DEVELOPER),
        ("staging", "merge", True, AccessLevel.MAINTAINER),
        ("production", "status", False, AccessLevel.DEVELOPER),
        ("production", "merge", False, AccessLevel.MAINTAINER),
        ("production", "merge", True, AccessLevel.OWNER),
        ("production", "pin", True, AccessLevel.MAINTAINER),
        ("production", "hold", True, AccessLevel.DEVELOPER),
    ],
)
def test_command_access_levels(
    env: str, command: str, frozen: bool, level: AccessLevel
) -> None:
    """Commands need their configured level; merge in a freeze the override."""
    environment = CONFIG.environment(env)
    assert command_access_level(environment, command, frozen=frozen) is level


def test_a_pattern_that_backtracks_without_end_refuses_the_tag() -> None:
    """A tag_pattern with nested repetition stops after its time budget:
    the tag is refused naming the pattern, instead of stalling the server."""
    environment = CONFIG.environment("production").model_copy(
        update={"tag_pattern": r"(v|vv)+1"}
    )
    with pytest.raises(NotAllowed) as caught:
        ensure_tag_allowed(environment, "v" * 60 + "x")
    assert str(caught.value) == (
        f"tag {'v' * 60}x could not be checked against the tag pattern of "
        r"environment production within 0.1s: (v|vv)+1 (simplify the pattern's "
        "nested repetition)"
    )
