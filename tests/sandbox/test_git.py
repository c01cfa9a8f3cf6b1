"""The git layer on real repositories: commits from actions, reads, diffs, merges."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sandbox.git import Repository, Signature
from bot.sandbox.gitcommit import Action, CommitRefused, create_commit
from bot.sandbox.gitdiff import Conflict, diff, merge, squash
from bot.sandbox.gitobjects import read_ref

WHO = Signature("Tester", "tester@example.com", datetime(2026, 1, 2, tzinfo=UTC))


@pytest.fixture
def repo(tmp_path):
    """An empty bare repository with main as HEAD."""
    repository = Repository(tmp_path / "r.git")
    repository.init("main")
    yield repository
    repository.close()


def _commit(repo, parent, *actions, branch="main"):
    sha = create_commit(repo, parent, list(actions), "msg", WHO)
    assert repo.set_ref(f"refs/heads/{branch}", sha, repo.head(branch))
    return sha


def _files(repo, ref):
    return {
        e.path: repo.read_blob(e.id)
        for e in repo.tree(repo.resolve(ref), recursive=True)
        if e.type == "blob"
    }


def test_first_commit_has_no_parent_and_reads_back(repo) -> None:
    """A root commit records its files, author and message."""
    sha = _commit(repo, None, Action("create", "a/b.txt", b"hi\n"))

    info = repo.commit_info(sha)
    assert info.parent_ids == ()
    assert (info.author_name, info.message) == ("Tester", "msg")
    assert info.authored_date == WHO.when
    assert _files(repo, "main") == {"a/b.txt": b"hi\n"}
    assert repo.file_info(sha, "a/b.txt").size == 3


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Action("create", "a.txt", b"x"), "A file with this name already exists"),
        (Action("update", "no.txt", b"x"), "A file with this name doesn't exist"),
        (Action("delete", "no.txt"), "A file with this name doesn't exist"),
        (
            Action("chmod", "no.txt", execute_filemode=True),
            "A file with this name doesn't exist",
        ),
        (
            Action("move", "b.txt", previous_path="no.txt"),
            "A file with this name doesn't exist",
        ),
    ],
)
def test_refused_actions(repo, action, message) -> None:
    """Each impossible action is refused with GitLab's message."""
    base = _commit(repo, None, Action("create", "a.txt", b"a"))

    with pytest.raises(CommitRefused, match=message):
        create_commit(repo, base, [action], "m", WHO)


def test_actions_see_earlier_actions_of_the_same_commit(repo) -> None:
    """Create then update the same path in one commit works in order."""
    base = _commit(repo, None, Action("create", "keep", b"k"))

    _commit(repo, base, Action("create", "n", b"1"), Action("update", "n", b"2"))

    assert _files(repo, "main") == {"keep": b"k", "n": b"2"}


def test_chmod_and_move_keep_content(repo) -> None:
    """chmod flips the mode; move keeps the blob when no content is given."""
    base = _commit(repo, None, Action("create", "s.sh", b"#!/bin/sh\n"))

    sha = _commit(
        repo,
        base,
        Action("chmod", "s.sh", execute_filemode=True),
        Action("move", "bin/s.sh", previous_path="s.sh"),
    )

    info = repo.file_info(sha, "bin/s.sh")
    assert info.mode == "100755"
    assert repo.read_blob(info.blob_id) == b"#!/bin/sh\n"
    assert repo.file_info(sha, "s.sh") is None


PATHS = st.sampled_from(["a", "b", "d/c", "d/e", "f/g/h"])


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(
        st.tuples(PATHS, st.binary(max_size=8) | st.none()), min_size=1, max_size=12
    )
)
def test_commits_match_a_dictionary_model(steps) -> None:
    """Any sequence of writes and deletes leaves exactly the modelled files."""
    with tempfile.TemporaryDirectory() as folder:
        repo = Repository(Path(folder) / "r.git")
        repo.init("main")
        try:
            _replay(repo, steps)
        finally:
            repo.close()


def _replay(repo: Repository, steps: list[tuple[str, bytes | None]]) -> None:
    model: dict[str, bytes] = {}
    parent = repo.head("main")
    for path, content in steps:
        if content is None and path in model:
            action = Action("delete", path)
            del model[path]
        elif content is not None and path in model and model[path] != content:
            action = Action("update", path, content)
            model[path] = content
        elif content is not None and path not in model and not _blocked(model, path):
            action = Action("create", path, content)
            model[path] = content
        else:
            continue
        parent = _commit(repo, parent, action)
    expected = model if parent else {}
    assert (_files(repo, "main") if parent else {}) == expected


def _blocked(model: dict[str, bytes], path: str) -> bool:
    """A path cannot be a file where a directory of files exists, or under a file."""
    return any(p.startswith(path + "/") or path.startswith(p + "/") for p in model)


def test_diff_reports_flags_and_patches(repo) -> None:
    """diff marks new, deleted and renamed files and keeps the patch from @@ on."""
    base = _commit(
        repo,
        None,
        Action("create", "old.txt", b"1\n2\n3\n4\n5\n"),
        Action("create", "gone", b"x\n"),
    )
    head = _commit(
        repo,
        base,
        Action("move", "new.txt", previous_path="old.txt"),
        Action("delete", "gone"),
        Action("create", "born", b"y\n"),
    )

    found = {d["new_path"]: d for d in diff(repo, base, head)}

    assert found["born"]["new_file"] and found["born"]["a_mode"] == "0"
    assert found["gone"]["deleted_file"] and found["gone"]["b_mode"] == "0"
    assert (
        found["new.txt"]["renamed_file"] and found["new.txt"]["old_path"] == "old.txt"
    )
    assert found["born"]["diff"] == "@@ -0,0 +1 @@\n+y\n"
    assert found["new.txt"]["diff"] == ""


def test_merge_clean_and_conflicting(repo) -> None:
    """merge-tree merges disjoint edits and reports conflicting paths."""
    base = _commit(
        repo, None, Action("create", "f", b"1\n"), Action("create", "g", b"1\n")
    )
    ours = _commit(repo, base, Action("update", "f", b"ours\n"))
    theirs = _commit(repo, base, Action("update", "g", b"theirs\n"), branch="t")
    clash = _commit(repo, base, Action("update", "f", b"clash\n"), branch="c")

    merged = merge(repo, ours, theirs, "Merge", WHO)
    conflict = merge(repo, ours, clash, "Merge", WHO)

    assert repo.commit_info(merged).parent_ids == (ours, theirs)
    assert repo.read_file(merged, "f") == b"ours\n"
    assert repo.read_file(merged, "g") == b"theirs\n"
    assert conflict == Conflict(("f",))


def test_squash_keeps_the_tree_on_one_parent(repo) -> None:
    """squash makes one commit on the base with the head's tree."""
    base = _commit(repo, None, Action("create", "f", b"1\n"))
    one = _commit(repo, base, Action("update", "f", b"2\n"))
    two = _commit(repo, one, Action("create", "g", b"3\n"))

    squashed = squash(repo, base, two, "Squashed", WHO)

    assert repo.commit_info(squashed).parent_ids == (base,)
    assert repo.tree_of(squashed) == repo.tree_of(two)


def test_resolve_branches_tags_shas_and_head(repo) -> None:
    """resolve accepts branch, lightweight and annotated tags, sha, short sha, HEAD."""
    sha = _commit(repo, None, Action("create", "f", b"1"))
    repo.create_tag("light", sha, "", WHO)
    repo.create_tag("heavy", sha, "release notes", WHO)

    names = ["main", "light", "heavy", sha, sha[:8], "HEAD"]
    assert [repo.resolve(n) for n in names] == [sha] * 6
    assert repo.tag_message("heavy") == "release notes"
    assert repo.tag_message("light") is None
    assert repo.resolve("nope") is None and repo.resolve("-x") is None


@pytest.mark.parametrize("ref", ["refs/heads/../../config", "refs//x", "HEADX", "../x"])
def test_ref_reads_never_leave_the_refs_folder(repo, ref) -> None:
    """Crafted ref names do not read files outside refs/."""
    assert read_ref(repo.path, ref) is None


def test_many_blobs_go_through_a_pack_and_read_back(repo) -> None:
    """A commit of 200 files (packed by fast-import) reads back through the reader."""
    first = _commit(repo, None, Action("create", "seed", b"s"))
    assert repo.read_file(first, "seed") == b"s"  # the reader process is running
    actions = [Action("create", f"d/{n}.txt", f"{n}\n".encode()) for n in range(200)]

    sha = _commit(repo, first, *actions)

    assert repo.read_file(sha, "d/199.txt") == b"199\n"
    assert len(repo.tree(sha, "d")) == 200
