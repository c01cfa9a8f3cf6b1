"""The public API the deploy flow calls: results, current images, detection."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.manifests import (
    AmbiguousTarget,
    DuplicateKey,
    EditGuardError,
    ManifestError,
    Target,
    TargetNotFound,
    YamlSyntaxError,
    detect_kind,
    edit,
    find_current,
)
from bot.manifests.splice import ensure_only
from tests.manifests.test_fixtures import DATA


def fixture(name: str) -> str:
    """Return one of our fixtures' text."""
    return (DATA / name).read_bytes().decode("utf-8")


def test_result_carries_changes_and_a_git_style_diff() -> None:
    """An edit returns the path, both texts, the changes and an a/ b/ diff."""
    text = "image:\n  tag: v1  # keep\n"

    result = edit(text, "values.yaml", Target("helm", key="image.tag"), tag="v2")

    assert result.path == "values.yaml" and result.original == text
    assert result.text == "image:\n  tag: v2  # keep\n"
    assert [(c.line, c.old, c.new) for c in result.changes] == [(2, "v1", "v2")]
    assert result.diff.splitlines()[:3] == [
        "--- a/values.yaml",
        "+++ b/values.yaml",
        "@@ -1,2 +1,2 @@",
    ]
    assert "-  tag: v1  # keep" in result.diff and "+  tag: v2  # keep" in result.diff


def test_diff_marks_a_missing_final_newline() -> None:
    """The diff says when the file ends without a newline, as git does."""
    result = edit("tag: v1", "v.yaml", Target("helm", key="tag"), tag="v2")

    assert result.text == "tag: v2"
    assert result.diff.endswith("+tag: v2\n\\ No newline at end of file\n")


def test_unchanged_result_is_reported_as_such() -> None:
    """A value already at its target gives the same text and no changes."""
    result = edit("tag: v1\n", "v.yaml", Target("helm", key="tag"), tag="v1")

    assert not result.changed and result.changes == () and result.diff == ""


@pytest.mark.parametrize(
    ("name", "target", "expected"),
    [
        (
            "kustomize/flush/kustomization.yaml",
            Target(image="worker"),
            [("v2.0.0", None)],
        ),
        (
            "helm/values.yaml",
            Target(key="worker.image.tag"),
            [("1.9.0", "sha256:" + "2" * 64)],
        ),
        ("helm/values.yaml", Target(key="image"), [("1.9", None)]),
        (
            "manifests/workloads.yaml",
            Target(image="nginx"),
            [(None, None), ("1.25", None)] + [("1.25", None)],
        ),
        (
            "manifests/list-multidoc.yaml",
            Target(image="ghcr.io/shop/api"),
            [("2.0.0", None), ("2.0.0", None), (None, "sha256:" + "d" * 64)],
        ),
        ("argocd/application.yaml", Target(key="image.tag"), [("1.0", None)]),
        (
            "flux/setters.yaml",
            Target(policy="flux-system:app"),
            [("v1.0.0", None), ("v1.0.0", None), (None, None)],
        ),
    ],
)
def test_find_current_reports_what_each_place_holds(name, target, expected) -> None:
    """find_current returns the tag and digest each matched place holds now."""
    current = find_current(fixture(name), name, target)

    assert [(image.tag, image.digest) for image in current] == expected
    assert all(image.line > 0 for image in current)


def test_find_current_raises_like_edit_when_absent() -> None:
    """A target that is not there raises TargetNotFound."""
    with pytest.raises(TargetNotFound, match="image 'absent' not found"):
        find_current(
            fixture("manifests/workloads.yaml"), "w.yaml", Target(image="absent")
        )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("kustomize/flush/kustomization.yaml", "kustomize"),
        ("kustomize/indented/kustomization.yaml", "kustomize"),
        ("helm/values.yaml", "helm"),
        ("manifests/workloads.yaml", "manifest"),
        ("manifests/list.yaml", "manifest"),
        ("argocd/application.yaml", "argocd"),
        ("argocd/.argocd-source-shop.yaml", "argocd"),
        ("flux/setters.yaml", "manifest"),
    ],
)
def test_detect_kind_from_name_and_documents(name: str, expected: str) -> None:
    """The file name, then the documents' kinds decide the editor."""
    assert detect_kind(fixture(name), name) == expected


def test_detect_kind_finds_flux_markers_and_plain_values() -> None:
    """Setter markers outside workloads mean flux; anything else is values."""
    marked = 'tag: v1 # {"$imagepolicy": "ns:app:tag"}\n'
    assert detect_kind(marked, "x.yaml") == "flux"
    assert detect_kind("replicas: 2\n", "x.yaml") == "helm"


def test_syntax_error_names_line_and_column() -> None:
    """YAML that does not parse is refused with its line and column."""
    with pytest.raises(
        YamlSyntaxError,
        match=r"x.yaml: YAML does not parse at line 2, column 4: mapping values",
    ):
        edit("a: 1\n  b: 2\n", "x.yaml", Target("helm", key="a"), tag="v1")


def test_duplicate_key_names_key_and_both_lines() -> None:
    """A repeated key is refused with the key and both lines."""
    with pytest.raises(
        DuplicateKey, match="duplicate key 'tag' in one mapping, at line 2 and line 4"
    ):
        edit(
            fixture("broken/duplicate.yaml"),
            "d.yaml",
            Target("helm", key="image.tag"),
            tag="v3",
        )


def test_unparsable_document_is_skipped_when_the_target_is_elsewhere() -> None:
    """A templated document that does not parse does not block the others."""
    text = fixture("argocd/templated.yaml")

    result = edit(text, "t.yaml", Target("argocd", image="web"), tag="1.1")

    assert [(c.line, c.new) for c in result.changes] == [
        (15, "web=registry.example.com/shop/web:1.1")
    ]
    assert result.skipped and "line 1, column 3" in result.skipped[0]


def test_unparsable_document_is_reported_when_the_target_is_missing() -> None:
    """When the target is nowhere else, the syntax error is the refusal."""
    with pytest.raises(
        YamlSyntaxError, match="line 1, column 3.*no kustomize.images entry"
    ):
        edit(
            fixture("argocd/templated.yaml"),
            "t.yaml",
            Target("argocd", image="x"),
            tag="1",
        )


def test_ambiguous_kustomize_entry_is_refused() -> None:
    """Two images entries with one name are refused, naming both lines."""
    text = "images:\n- name: app\n  newTag: v1\n- name: app\n  newTag: v2\n"

    with pytest.raises(AmbiguousTarget, match="matches entries at lines 2, 4"):
        edit(text, "kustomization.yaml", Target(image="app"), tag="v3")


def test_key_in_two_documents_is_ambiguous() -> None:
    """A key path present in two documents is refused, naming both lines."""
    text = "image:\n  tag: v1\n---\nimage:\n  tag: v1\n"

    with pytest.raises(AmbiguousTarget, match="exists at lines 2, 5"):
        edit(text, "v.yaml", Target("helm", key="image.tag"), tag="v3")


def test_every_refusal_is_an_invalid_input() -> None:
    """The refusal family maps onto exit status 2 through InvalidInput."""
    assert issubclass(ManifestError, __import__("bot.errors").errors.InvalidInput)
    assert ManifestError.exit_status == 2


def test_guard_refuses_a_change_outside_the_target_lines() -> None:
    """The line guard raises when any other line differs."""
    original = ("a: 1\n", "b: 2\n", "c: 3\n")

    ensure_only(original, ("a: 1\n", "b: 9\n", "c: 3\n"), {1}, set(), {})
    with pytest.raises(EditGuardError, match="line 3 would change"):
        ensure_only(original, ("a: 1\n", "b: 9\n", "c: 4\n"), {1}, set(), {})
    with pytest.raises(EditGuardError, match="line 2 would change"):
        ensure_only(original, ("a: 1\n", "b: 2\r\n", "c: 3\n"), set(), set(), {})
    with pytest.raises(EditGuardError, match="line count"):
        ensure_only(original, (*original, "d: 4\n"), set(), set(), {})


def test_new_tag_alone_clears_a_stale_helm_digest() -> None:
    """A tag-only bump empties a digest that would keep the old image running."""
    text = "image:\n  tag: v1\n  digest: sha256:" + "e" * 64 + "  # pinned\n"

    result = edit(text, "v.yaml", Target("helm", key="image"), tag="v2")

    assert result.text == 'image:\n  tag: v2\n  digest: ""  # pinned\n'


def test_path_through_an_aliased_mapping_is_refused() -> None:
    """Editing inside an alias would change the anchor's other users too."""
    text = "base: &img\n  tag: v1\nweb:\n  image: *img\n"

    with pytest.raises(ManifestError, match=r"'image' is an alias of &img \(line 1\)"):
        edit(text, "v.yaml", Target("helm", key="web.image.tag"), tag="v2")


def test_anchored_mapping_is_edited_at_its_anchor() -> None:
    """Naming the anchored mapping itself edits it in place, anchor kept."""
    text = "base: &img\n  tag: v1\nweb:\n  image: *img\n"

    result = edit(text, "v.yaml", Target("helm", key="base.tag"), tag="v2")

    assert result.text == text.replace("tag: v1", "tag: v2")


def test_new_name_on_an_entry_matched_by_new_name_replaces_it() -> None:
    """An entry found by its newName takes the new one; name and tag stay."""
    text = fixture("kustomize/flush/kustomization.yaml")
    old = "registry.example.com/shop/worker"
    target = Target("kustomize", image=old)

    result = edit(text, "k.yaml", target, new_name="mirror.example.com/shop/worker")

    assert result.text == text.replace(
        f"newName: {old}", "newName: mirror.example.com/shop/worker"
    )
    assert [(c.line, c.old, c.new) for c in result.changes] == [
        (11, old, "mirror.example.com/shop/worker")
    ]


def test_new_name_is_validated_before_the_file_is_read() -> None:
    """A malformed new name is refused even when the file is not YAML."""
    with pytest.raises(InvalidInput, match="carries a tag"):
        edit("{", "kustomization.yaml", Target(image="app"), new_name="app:v1")
