"""Form-encoded and query arrays (``key[]=v``) as GitLab's Grape reads them."""

from __future__ import annotations

from typing import Any

import requests

from tests.sandbox.mr_support import write_file


def _post(sandbox: Any, path: str, fields: list[tuple[str, str]]) -> Any:
    """POST ``fields`` form-encoded (as ``curl -d`` sends them) with the root token."""
    return requests.post(
        f"{sandbox.url}/api/v4{path}",
        data=fields,
        headers={"PRIVATE-TOKEN": sandbox.root_token},
        timeout=10,
    )


def _create_mr(sandbox: Any, project: Any, fields: list[tuple[str, str]]) -> Any:
    """POST a merge request of a new ``feature`` branch with extra form ``fields``."""
    write_file(project, "feature", "f.txt", "f\n", start="main")
    base = [("source_branch", "feature"), ("target_branch", "main")]
    return _post(sandbox, f"/projects/{project.id}/merge_requests", base + fields)


def test_token_scopes_as_a_form_array(sandbox, make_user) -> None:
    """``-d name=t -d 'scopes[]=api' -d 'scopes[]=read_api'`` mints a token."""
    user, _ = make_user("alice")

    answer = _post(
        sandbox,
        f"/users/{user.id}/personal_access_tokens",
        [("name", "t"), ("scopes[]", "api"), ("scopes[]", "read_api")],
    )

    assert answer.status_code == 201, answer.text
    assert answer.json()["scopes"] == ["api", "read_api"]


def test_missing_scopes_are_still_refused(sandbox, make_user) -> None:
    """Without any ``scopes`` field the answer stays Grape's "scopes is missing"."""
    user, _ = make_user("alice")

    answer = _post(sandbox, f"/users/{user.id}/personal_access_tokens", [("name", "t")])

    assert (answer.status_code, answer.json()) == (400, {"error": "scopes is missing"})


def test_merge_request_labels_and_assignees_as_form_arrays(
    sandbox, make_user, make_project
) -> None:
    """``labels[]`` and ``assignee_ids[]`` in a form create the MR with both lists."""
    alice, _ = make_user("alice")
    bob, _ = make_user("bob")
    answer = _create_mr(
        sandbox,
        make_project("shop"),
        [
            ("title", "Add f"),
            ("labels[]", "deploy"),
            ("labels[]", "prio::high"),
            ("assignee_ids[]", str(alice.id)),
            ("assignee_ids[]", str(bob.id)),
        ],
    )

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["labels"] == ["deploy", "prio::high"]
    assert [person["username"] for person in body["assignees"]] == ["alice", "bob"]


def test_iids_as_a_query_array(sandbox, make_project) -> None:
    """``?iids[]=1&iids[]=3`` lists exactly those merge requests."""
    project = make_project("shop")
    for branch in ("one", "two", "three"):
        write_file(project, branch, f"{branch}.txt", "x\n", start="main")
        project.mergerequests.create(
            {"source_branch": branch, "target_branch": "main", "title": branch}
        )

    answer = requests.get(
        f"{sandbox.url}/api/v4/projects/{project.id}/merge_requests",
        params=[("iids[]", "1"), ("iids[]", "3")],
        headers={"PRIVATE-TOKEN": sandbox.root_token},
        timeout=10,
    )

    assert answer.status_code == 200, answer.text
    assert sorted(mr["iid"] for mr in answer.json()) == [1, 3]


def test_a_repeated_plain_field_keeps_its_last_value(sandbox, make_project) -> None:
    """Without ``[]`` a repeated form field is one value: the last, as in Rack."""
    answer = _create_mr(
        sandbox, make_project("shop"), [("title", "first"), ("title", "second")]
    )

    assert answer.status_code == 201, answer.text
    assert answer.json()["title"] == "second"
