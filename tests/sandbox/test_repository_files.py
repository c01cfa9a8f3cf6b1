"""Repository files through python-gitlab: reads, metadata, writes, errors."""

from __future__ import annotations

import base64
import hashlib

import gitlab
import pytest


def test_get_returns_base64_content_and_ids(make_project) -> None:
    """GET files answers base64 content, blob/commit ids and the sha256."""
    project = make_project("app", {"conf/app.yaml": "image: v1\n"})
    head = project.branches.get("main").commit["id"]

    found = project.files.get("conf/app.yaml", ref="main")

    assert base64.b64decode(found.content) == b"image: v1\n"
    assert found.encoding == "base64"
    assert found.file_name == "app.yaml"
    assert found.size == 10
    assert found.ref == "main"
    assert found.commit_id == head
    assert found.last_commit_id == head
    assert found.content_sha256 == hashlib.sha256(b"image: v1\n").hexdigest()
    assert found.execute_filemode is False


def test_last_commit_id_is_the_commit_that_touched_the_path(make_project) -> None:
    """last_commit_id stays on the commit that changed the file, not the head."""
    project = make_project("app", {"a.txt": "a\n"})
    touched = project.branches.get("main").commit["id"]
    project.files.create(
        {"file_path": "b.txt", "branch": "main", "content": "b", "commit_message": "b"}
    )

    found = project.files.get("a.txt", ref="main")

    assert found.last_commit_id == touched
    assert found.commit_id != touched


def test_head_returns_metadata_headers(make_project) -> None:
    """HEAD on a file answers the X-Gitlab-* headers with the same values."""
    project = make_project("app", {"run.sh": "#!/bin/sh\n"})
    body = project.files.get("run.sh", ref="main")

    headers = project.files.head("run.sh", ref="main")

    assert headers["X-Gitlab-Blob-Id"] == body.blob_id
    assert headers["X-Gitlab-Last-Commit-Id"] == body.last_commit_id
    assert headers["X-Gitlab-Size"] == "10"
    assert headers["X-Gitlab-Execute-Filemode"] == "false"
    assert headers["X-Gitlab-File-Path"] == "run.sh"


def test_raw_defaults_to_the_default_branch(make_project) -> None:
    """raw without ref reads the default branch and answers the bytes."""
    project = make_project("app", {"deep/dir/f.txt": "hello\n"})

    assert project.files.raw("deep/dir/f.txt") == b"hello\n"


@pytest.mark.parametrize(
    ("path", "ref", "message"),
    [
        ("missing.txt", "main", "404 File Not Found"),
        ("README.md", "no-such-branch", "404 Commit Not Found"),
    ],
)
def test_get_errors(make_project, path: str, ref: str, message: str) -> None:
    """Missing files and unresolvable refs are 404s with GitLab's texts."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.files.get(path, ref=ref)

    assert caught.value.response_code == 404
    assert caught.value.error_message == message


def test_get_without_ref_is_a_grape_400(gl, make_project) -> None:
    """A files GET without ref is 400 {"error": "ref is missing"}."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabHttpError) as caught:
        gl.http_get(f"/projects/{project.id}/repository/files/README.md")

    assert caught.value.response_code == 400
    assert caught.value.error_message == "ref is missing"


def test_unknown_project_is_404(gl) -> None:
    """A project that does not exist is 404 Project Not Found."""
    with pytest.raises(gitlab.GitlabGetError) as caught:
        gl.projects.get("nobody/nothing")

    assert caught.value.response_code == 404
    assert caught.value.error_message == "404 Project Not Found"


def test_create_update_delete_a_file(make_project) -> None:
    """Single-file writes commit onto the branch and read back."""
    project = make_project("app")

    created = project.files.create(
        {
            "file_path": "x/y.txt",
            "branch": "main",
            "content": "one",
            "commit_message": "add y",
        }
    )
    found = project.files.get("x/y.txt", ref="main")
    found.content = "two"
    found.save(branch="main", commit_message="change y")
    after_update = project.files.raw("x/y.txt", ref="main")
    project.files.delete(file_path="x/y.txt", branch="main", commit_message="drop y")

    assert created.file_path == "x/y.txt"
    assert after_update == b"two"
    with pytest.raises(gitlab.GitlabGetError):
        project.files.get("x/y.txt", ref="main")
    titles = [c.title for c in project.commits.list()]
    assert titles[:3] == ["drop y", "change y", "add y"]


def test_create_with_base64_encoding_stores_the_bytes(make_project) -> None:
    """encoding=base64 content is decoded before it is committed."""
    project = make_project("app")
    payload = bytes(range(256))

    project.files.create(
        {
            "file_path": "blob.bin",
            "branch": "main",
            "encoding": "base64",
            "content": base64.b64encode(payload).decode(),
            "commit_message": "bin",
        }
    )

    assert project.files.raw("blob.bin", ref="main") == payload


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("post", "README.md", "A file with this name already exists"),
        ("put", "missing.txt", "A file with this name doesn't exist"),
    ],
)
def test_write_refusals_change_nothing(gl, make_project, method, path, message) -> None:
    """Refused single-file writes are 400s and leave the branch where it was."""
    project = make_project("app")
    before = project.branches.get("main").commit["id"]
    content = "# app\n" if method == "put" and path == "README.md" else "x"
    url = f"/projects/{project.id}/repository/files/{path}"
    body = {"branch": "main", "content": content, "commit_message": "m"}

    with pytest.raises(gitlab.GitlabHttpError) as caught:
        getattr(gl, f"http_{method}")(url, post_data=body)

    assert caught.value.response_code == 400
    assert caught.value.error_message == message
    assert project.branches.get("main").commit["id"] == before


def test_identical_content_makes_an_empty_commit(make_project) -> None:
    """As gitlab.com does (not as its docs say): 200 and a commit with no diff."""
    project = make_project("app")
    before = project.branches.get("main").commit["id"]

    project.files.update(
        "README.md", {"branch": "main", "content": "# app\n", "commit_message": "m"}
    )

    after = project.branches.get("main").commit["id"]
    assert after != before
    assert project.commits.get(after).parent_ids == [before]
    assert project.commits.get(after).diff() == []


def test_stale_last_commit_id_on_update_is_refused(make_project) -> None:
    """files update with an outdated last_commit_id is refused (400)."""
    project = make_project("app", {"f.txt": "1"})
    stale = project.files.get("f.txt", ref="main").last_commit_id
    project.files.update(
        "f.txt", {"branch": "main", "content": "2", "commit_message": "two"}
    )

    with pytest.raises(gitlab.GitlabUpdateError) as caught:
        project.files.update(
            "f.txt",
            {
                "branch": "main",
                "content": "3",
                "commit_message": "three",
                "last_commit_id": stale,
            },
        )

    assert caught.value.response_code == 400
    assert caught.value.error_message == (
        "You are attempting to update a file that has changed since you started "
        "editing it."
    )
    assert project.files.raw("f.txt", ref="main") == b"2"


def test_missing_commit_message_is_a_grape_400(gl, make_project) -> None:
    """A file create without commit_message is 400 commit_message is missing."""
    project = make_project("app")
    url = f"/projects/{project.id}/repository/files/a"

    with pytest.raises(gitlab.GitlabHttpError) as caught:
        gl.http_post(url, post_data={"branch": "main", "content": "a"})

    assert caught.value.response_code == 400
    assert caught.value.error_message == "commit_message is missing"


def test_tree_lists_entries_recursively(make_project) -> None:
    """The tree lists blobs and trees with paths, flat or recursive."""
    project = make_project("app", {"a/b/c.txt": "c", "a/d.txt": "d"})

    top = project.repository_tree()
    deep = project.repository_tree(path="a", recursive=True, get_all=True)

    assert {(e["name"], e["type"]) for e in top} == {
        ("README.md", "blob"),
        ("a", "tree"),
    }
    assert [e["path"] for e in deep] == ["a/b", "a/b/c.txt", "a/d.txt"]


def test_tree_of_a_missing_path_is_404(make_project) -> None:
    """A tree path that does not exist is 404 Tree Not Found."""
    project = make_project("app")

    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.repository_tree(path="nope")

    assert caught.value.error_message == "404 Tree Not Found"
