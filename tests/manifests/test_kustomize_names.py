"""Kustomize ``--image``: a repository to add, or a Docker spelling of an entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.manifests import AmbiguousTarget, Target, edit, find_current

KUSTOMIZATION = 'images:\n- name: nginx\n  newTag: "1"\n'


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (
            "BAD IMAGE",
            "--image 'BAD IMAGE' is not an image repository, so no images entry "
            "can be added for it (image repository 'BAD IMAGE' contains "
            "whitespace or control characters); pass a repository such as "
            "--image registry.example.com/shop/api",
        ),
        (
            "registry.example.com/shop/api:v1",
            "--image 'registry.example.com/shop/api:v1' carries a tag; pass the "
            "repository and the version apart: "
            "--image registry.example.com/shop/api --tag v1",
        ),
        (
            "shop/api@sha256:" + "a" * 64,
            f"--image 'shop/api@sha256:{'a' * 64}' carries a digest; pass the "
            f"repository and the version apart: --image shop/api --digest "
            f"sha256:{'a' * 64}",
        ),
        (
            "Shop/API",
            "--image 'Shop/API' is not an image repository, so no images entry "
            "can be added for it (image repository 'Shop/API' is not a valid "
            "name: an optional registry host[:port]/, then '/'-separated "
            "lower-case components of letters and digits joined by '.', '_', "
            "'__' or '-'); pass a repository such as "
            "--image registry.example.com/shop/api",
        ),
    ],
)
@pytest.mark.parametrize("text", [KUSTOMIZATION, "resources: [a.yaml]\n"])
def test_an_image_that_is_no_repository_adds_no_entry(
    tmp_path: Path, capsys, image: str, message: str, text: str
) -> None:
    """An --image no entry names must be a bare repository; else exit 2, say how."""
    path = tmp_path / "kustomization.yaml"
    path.write_text(text)

    status = main(["bump", str(path), "--image", image, "--tag", "9"])

    assert status == 2
    assert capsys.readouterr().err == f"gitops-bot bump: {path}: {message}\n"
    assert path.read_text() == text


def test_a_valid_missing_repository_is_still_added() -> None:
    """A repository no entry names gets a new entry, like kustomize edit set image."""
    result = edit(
        KUSTOMIZATION, "kustomization.yaml", Target(image="shop/api"), tag="9"
    )

    assert result.text == KUSTOMIZATION + '- name: shop/api\n  newTag: "9"\n'


@pytest.mark.parametrize(
    "image",
    ["docker.io/library/nginx", "library/nginx", "index.docker.io/library/nginx"],
)
def test_a_docker_spelling_edits_the_entry_it_normalises_to(image: str) -> None:
    """``docker.io/library/nginx`` moves the ``nginx`` entry instead of adding one."""
    result = edit(KUSTOMIZATION, "kustomization.yaml", Target(image=image), tag="9")

    assert result.text == KUSTOMIZATION.replace('"1"', '"9"')


def test_a_docker_spelling_matches_a_new_name_too() -> None:
    """An entry whose newName is the same repository is the one edited."""
    text = 'images:\n- name: web\n  newName: nginx\n  newTag: "1"\n'

    result = edit(text, "kustomization.yaml", Target(image="docker.io/nginx"), tag="2")

    assert result.text == text.replace('"1"', '"2"')


def test_the_deploy_flow_reads_and_moves_the_normalised_entry() -> None:
    """The deploy flow's calls (no repository required) find the same entry."""
    target = Target(image="docker.io/library/nginx", require_repository=False)

    [current] = find_current(KUSTOMIZATION, "kustomization.yaml", target)
    result = edit(KUSTOMIZATION, "kustomization.yaml", target, tag="9")

    assert (current.tag, current.line) == ("1", 2)
    assert result.text == KUSTOMIZATION.replace('"1"', '"9"')


def test_two_entries_of_one_repository_are_ambiguous() -> None:
    """Two spellings of the repository in the file: refused, not guessed."""
    text = KUSTOMIZATION + '- name: library/nginx\n  newTag: "2"\n'

    with pytest.raises(AmbiguousTarget) as refused:
        edit(text, "kustomization.yaml", Target(image="docker.io/nginx"), tag="9")

    assert str(refused.value) == (
        "kustomization.yaml: image 'docker.io/nginx' matches entries at lines 2, 4"
    )


def test_an_entry_named_exactly_wins_over_a_normalised_one() -> None:
    """A textual match is edited even when another entry normalises the same."""
    text = KUSTOMIZATION + '- name: docker.io/library/nginx\n  newTag: "2"\n'

    result = edit(text, "kustomization.yaml", Target(image="nginx"), tag="9")

    assert result.text == text.replace('"1"', '"9"')
