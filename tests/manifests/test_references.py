"""Image references: validation, parsing, normalisation and rebasing."""

from __future__ import annotations

import re

import pytest

from bot.errors import InvalidInput
from bot.manifests import validate_digest, validate_tag
from bot.manifests.references import (
    Reference,
    is_same_repository,
    normalise,
    parse_reference,
    rebase,
    split_tag_digest,
    validate_repository,
)

DIGEST = "sha256:" + "d" * 64


@pytest.mark.parametrize("tag", ["v1", "1.10", "_x", "a" * 128, "release_1-2.3", "A"])
def test_valid_tags_are_returned(tag: str) -> None:
    """Tags in the OCI grammar come back unchanged."""
    assert validate_tag(tag) == tag


@pytest.mark.parametrize(
    "tag", ["", " v1", "v1 ", "v1\n", "../a", "a:b", ".a", "-a", "a+b"]
)
def test_invalid_tags_raise(tag: str) -> None:
    """Tags outside the grammar raise InvalidInput naming the tag or the problem."""
    with pytest.raises(InvalidInput, match="tag"):
        validate_tag(tag)


@pytest.mark.parametrize(
    "name",
    [
        "nginx",
        "library/nginx",
        "registry.example.com:5000/shop/api",
        "localhost/app",
        "localhost:5000/a",
        "Registry.Example.COM/shop/api",
        "ghcr.io/org/app_x__y-z.v2",
        "a" * 255,
    ],
)
def test_valid_repositories_are_returned(name: str) -> None:
    """Repository names in the reference grammar come back unchanged."""
    assert validate_repository(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "image repository is empty"),
        ("a:b", "'a:b' carries a tag after its last ':'"),
        ("shop/api:", "carries a tag after its last ':'"),
        ("registry:5000", "carries a tag after its last ':'"),
        (f"shop/api@{DIGEST}", "carries a digest; pass it with --digest"),
        ("shop api", "contains whitespace or control characters"),
        ("shop/api\n", "contains whitespace or control characters"),
        ("shop/\tapi", "contains whitespace or control characters"),
        ("../shop", "'../shop' is not a valid name"),
        ("shop/../api", "is not a valid name"),
        ("shop//api", "is not a valid name"),
        ("Shop/api", "is not a valid name"),
        ("shop/Api", "is not a valid name"),
        ("-a.io/api", "is not a valid name"),
        ("a.io/", "is not a valid name"),
        ("shop/api-", "is not a valid name"),
        ("a" * 256, "256 characters long; at most 255 allowed"),
    ],
)
def test_invalid_repositories_raise(name: str, message: str) -> None:
    """A tag, digest, blank, path step or capital in a repository is refused."""
    with pytest.raises(InvalidInput, match=re.escape(message)):
        validate_repository(name)


@pytest.mark.parametrize("digest", [DIGEST, "sha512:" + "0" * 128])
def test_valid_digests_are_returned(digest: str) -> None:
    """sha256 with 64 and sha512 with 128 lowercase hex digits are accepted."""
    assert validate_digest(digest) == digest


@pytest.mark.parametrize(
    "digest", ["sha256:" + "d" * 63, "sha256:" + "D" * 64, "sha1:abc", "d" * 64, ":ab"]
)
def test_invalid_digests_raise(digest: str) -> None:
    """Anything else raises InvalidInput quoting the digest."""
    with pytest.raises(InvalidInput, match="digest"):
        validate_digest(digest)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nginx", Reference("nginx")),
        ("nginx:1.25", Reference("nginx", "1.25")),
        ("localhost:5000/app", Reference("localhost:5000/app")),
        ("10.0.0.1:30000/a/b:1.0", Reference("10.0.0.1:30000/a/b", "1.0")),
        (f"app@{DIGEST}", Reference("app", None, DIGEST)),
        (f"r.io/app:v1@{DIGEST}", Reference("r.io/app", "v1", DIGEST)),
    ],
)
def test_parse_reference(text: str, expected: Reference) -> None:
    """A port is never a tag; tag and digest are split off; str() round-trips."""
    assert parse_reference(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("library/nginx", "docker.io/library/nginx"),
        ("index.docker.io/nginx", "docker.io/library/nginx"),
        ("bitnami/redis", "docker.io/bitnami/redis"),
        ("localhost/app", "localhost/app"),
        ("Registry.Example.com:5000/app", "registry.example.com:5000/app"),
    ],
)
def test_normalise_follows_docker(name: str, expected: str) -> None:
    """Docker Hub short names gain docker.io and library/; hosts are lowercased."""
    assert normalise(name) == expected


def test_same_repository_is_whole_name_only() -> None:
    """A repository is never matched by a prefix of its name."""
    assert is_same_repository("redis", "docker.io/library/redis")
    assert not is_same_repository("redis", "redis-exporter")
    assert not is_same_repository("r.io/test", "r.io/test-image")


@pytest.mark.parametrize(
    ("old", "tag", "digest", "expected"),
    [
        ("app:1", "2", None, "app:2"),
        (f"app:1@{DIGEST}", "2", None, "app:2"),
        (f"app:1@{DIGEST}", "1", None, f"app:1@{DIGEST}"),
        ("app:1", None, DIGEST, f"app:1@{DIGEST}"),
        ("app", "2", DIGEST, f"app:2@{DIGEST}"),
    ],
)
def test_rebase_drops_only_a_stale_digest(old, tag, digest, expected) -> None:
    """A new tag alone drops the old digest; the same tag keeps it."""
    assert str(rebase(parse_reference(old), tag, digest)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("v1", ("v1", None)), (f"v1@{DIGEST}", ("v1", DIGEST)), (DIGEST, (None, DIGEST))],
)
def test_split_tag_digest(value: str, expected: tuple) -> None:
    """Tag, tag@digest and a bare digest are told apart."""
    assert split_tag_digest(value) == expected
