"""A sandbox restarted on the same --data folder keeps its state."""

from __future__ import annotations

import json

from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client, create_project, create_user


def test_restart_keeps_repositories_records_hooks_and_tokens(tmp_path) -> None:
    """Projects, files, members, hooks, protection and tokens survive a restart."""
    with SandboxThread(data_dir=tmp_path, root_token="glpat-root") as first:
        gl = client(first, first.root_token)
        group = gl.groups.create({"name": "Platform", "path": "platform"})
        project = create_project(gl, "app", {"a.txt": "one\n"}, namespace_id=group.id)
        user, token = create_user(gl, "dev")
        project.members.create({"user_id": user.id, "access_level": 30})
        project.hooks.create({"url": "http://127.0.0.1:9/h", "token": "s"})
        project.tags.create({"tag_name": "v1", "ref": "main"})
        head = project.branches.get("main").commit["id"]

    with SandboxThread(data_dir=tmp_path, root_token="glpat-root") as second:
        gl = client(second, second.root_token)
        again = gl.projects.get("platform/app")
        theirs = client(second, token)

        assert again.id == project.id
        assert again.files.raw("a.txt", ref="main") == b"one\n"
        assert again.branches.get("main").commit["id"] == head
        assert again.branches.get("main").protected is True
        assert [t.name for t in again.tags.list()] == ["v1"]
        assert [h.url for h in again.hooks.list()] == ["http://127.0.0.1:9/h"]
        assert again.members.get(user.id).access_level == 30
        assert theirs.projects.get(project.id).id == project.id
        next_project = gl.projects.create({"name": "second"})
        assert next_project.id == project.id + 1


def test_a_new_root_token_is_added_on_restart(tmp_path) -> None:
    """Restarting with another root token keeps the old one working too."""
    with SandboxThread(data_dir=tmp_path, root_token="glpat-one"):
        pass

    with SandboxThread(data_dir=tmp_path, root_token="glpat-two") as running:
        for token in ("glpat-one", "glpat-two"):
            gl = client(running, token)
            gl.auth()
            assert gl.user.username == "root"
        assert len(client(running, "glpat-two").users.list()) == 1


def test_without_a_root_token_a_restart_reuses_the_stored_one(tmp_path) -> None:
    """No --root-token: the first start makes one, restarts reuse it (no new
    token piles up), and one given later is added beside it."""
    with SandboxThread(data_dir=tmp_path) as first:
        made = first.root_token
    with SandboxThread(data_dir=tmp_path) as second:
        assert second.root_token == made
    with SandboxThread(data_dir=tmp_path, root_token="glpat-given") as third:
        assert third.root_token == "glpat-given"
        tokens = third.call(lambda: third.state.store.rows("tokens"))
    with SandboxThread(data_dir=tmp_path) as fourth:
        gl = client(fourth, made)
        gl.auth()

        assert fourth.root_token == "glpat-given"
        assert gl.user.username == "root"
    assert [t.token for t in tokens] == [made, "glpat-given"]


def test_every_write_is_saved_before_the_answer(tmp_path) -> None:
    """The state file holds a new project as soon as POST /projects answered."""
    with SandboxThread(data_dir=tmp_path) as running:
        client(running, running.root_token).projects.create({"name": "kept"})

        saved = json.loads((tmp_path / "state.json").read_text())

    assert [p["path"] for p in saved["tables"]["projects"]] == ["kept"]
