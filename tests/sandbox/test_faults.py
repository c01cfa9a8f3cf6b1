"""Sandbox controls: injected faults take effect, count down and clear."""

from __future__ import annotations

import gitlab
import pytest
import requests

PROJECTS = r"^/api/v4/projects$"


def _control(sandbox, method: str, path: str, body=None, token=None):
    headers = {"PRIVATE-TOKEN": token or sandbox.root_token}
    return requests.request(
        method,
        f"{sandbox.url}/-/sandbox/{path}",
        json=body,
        headers=headers,
        timeout=10,
    )


def _fault(sandbox, **body):
    response = _control(sandbox, "POST", "faults", body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_error_status_applies_count_times(sandbox, gl, status) -> None:
    """An error fault answers its status for the next N matching requests only."""
    _fault(sandbox, method="GET", path=PROJECTS, count=2, status=status)

    codes = []
    for _ in range(2):
        with pytest.raises(gitlab.GitlabListError) as caught:
            gl.projects.list()
        codes.append(caught.value.response_code)

    assert codes == [status, status]
    assert gl.projects.list() == []


def test_fault_matches_method_and_path(sandbox, gl) -> None:
    """A GET fault on one path leaves other paths and methods alone."""
    _fault(sandbox, method="GET", path=PROJECTS, count=1, status=500)

    gl.projects.create({"name": "app"})
    gl.users.list()

    with pytest.raises(gitlab.GitlabListError):
        gl.projects.list()


def test_429_carries_retry_after_and_python_gitlab_retries(sandbox, gl) -> None:
    """A 429 fault sends Retry-After; python-gitlab waits and retries by itself."""
    _fault(sandbox, method="GET", path=PROJECTS, count=1, status=429, retry_after=0)

    assert gl.projects.list() == []

    log = _control(sandbox, "GET", "requests").json()["requests"]
    statuses = [e["status"] for e in log if e["route"] == "/api/v4/projects"]
    assert statuses == [429, 200]


def test_429_headers(sandbox) -> None:
    """The 429 answer has Retry-After with the configured seconds."""
    _fault(sandbox, method="GET", path=PROJECTS, count=1, status=429, retry_after=7)

    response = requests.get(
        f"{sandbox.url}/api/v4/projects",
        headers={"PRIVATE-TOKEN": sandbox.root_token},
        timeout=10,
    )

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_drop_closes_the_connection(sandbox, gl) -> None:
    """A drop fault closes the connection: the client sees a connection error."""
    _fault(sandbox, method="GET", path=PROJECTS, count=1, drop=True)

    with pytest.raises(requests.exceptions.ConnectionError):
        gl.projects.list()

    assert gl.projects.list() == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 502}, gitlab.GitlabCreateError),
        ({"drop": True}, requests.exceptions.ConnectionError),
    ],
)
def test_after_fault_loses_the_answer_of_a_done_write(
    sandbox, gl, fault, error
) -> None:
    """With after, the write is made and then its answer is a 502 or lost."""
    shown = _fault(sandbox, method="POST", path=PROJECTS, after=True, **fault)

    with pytest.raises(error):
        gl.projects.create({"name": "app"})

    assert shown["after"] is True
    assert [project.name for project in gl.projects.list()] == ["app"]
    assert _control(sandbox, "GET", "faults").json() == []


def test_after_fault_keeps_a_refusal(sandbox, gl) -> None:
    """A request the handler refuses keeps its own answer under an after fault."""
    gl.projects.create({"name": "app"})
    _fault(sandbox, method="POST", path=PROJECTS, after=True, status=502)

    with pytest.raises(gitlab.GitlabCreateError) as refused:
        gl.projects.create({"name": "app"})

    assert refused.value.response_code == 400
    assert len(gl.projects.list()) == 1


def test_delay_slows_the_answer(sandbox, gl) -> None:
    """A delay fault holds the answer at least delay_ms, then answers normally."""
    _fault(sandbox, method="GET", path=PROJECTS, count=1, delay_ms=150)

    assert gl.projects.list() == []

    log = _control(sandbox, "GET", "requests").json()["requests"]
    delayed = [e for e in log if e["route"] == "/api/v4/projects"][0]
    assert delayed["status"] == 200
    assert delayed["duration_ms"] >= 150


def test_delete_clears_every_fault(sandbox, gl) -> None:
    """DELETE /-/sandbox/faults removes pending request and webhook faults."""
    _fault(sandbox, method="GET", path=PROJECTS, count=5, status=500)
    _fault(sandbox, webhooks="drop", count=5)

    cleared = _control(sandbox, "DELETE", "faults")

    assert cleared.status_code == 204
    assert _control(sandbox, "GET", "faults").json() == []
    assert gl.projects.list() == []


def test_webhook_drop_and_duplicate(sandbox, make_project, hook_receiver) -> None:
    """Webhook faults drop the next delivery and duplicate the one after."""
    project = make_project("app")
    project.hooks.create({"url": hook_receiver.url})
    _fault(sandbox, webhooks="drop", count=1)
    _fault(sandbox, webhooks="duplicate", count=1)

    for name in ("a", "b", "c"):
        project.files.create(
            {
                "file_path": name,
                "branch": "main",
                "content": name,
                "commit_message": name,
            }
        )
    sandbox.drain_webhooks()

    titles = [d.body["commits"][0]["title"] for d in hook_receiver.received]
    keys = [d.headers["Idempotency-Key"] for d in hook_receiver.received]
    assert titles == ["b", "b", "c"]
    assert keys[0] == keys[1] != keys[2]
    log = _control(sandbox, "GET", "webhooks").json()
    assert [entry["fault"] for entry in log] == ["drop", "duplicate", "duplicate", None]


def test_request_log_counts_routes(sandbox, make_project) -> None:
    """GET /-/sandbox/requests counts requests per route pattern."""
    project = make_project("app", {"a.txt": "a"})
    project.files.get("a.txt", ref="main")
    project.files.get("README.md", ref="main")

    counts = _control(sandbox, "GET", "requests").json()["counts"]

    assert counts["GET /api/v4/projects/:id/repository/files/:file_path"] == 2
    assert counts["POST /api/v4/projects"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"method": "GET", "path": "x", "status": 418},
            "status must be one of 429, 500, 502, 503",
        ),
        ({"method": "GET", "path": "(", "status": 500}, None),
        (
            {"method": "GET", "path": "x"},
            "exactly one of status, delay_ms, drop is required",
        ),
        ({"webhooks": "explode"}, "webhooks does not have a valid value"),
        (
            {"path": "x", "delay_ms": 5, "after": True},
            "after needs drop or a status of 500, 502, 503",
        ),
        (
            {"path": "x", "status": 429, "after": True},
            "after needs drop or a status of 500, 502, 503",
        ),
        (
            {"path": "x", "status": 502, "after": "yes"},
            "after must be true or false",
        ),
    ],
)
def test_invalid_faults_are_refused(sandbox, body, message) -> None:
    """Malformed fault requests are 400 and add nothing."""
    response = _control(sandbox, "POST", "faults", body)

    assert response.status_code == 400
    if message:
        assert response.json() == {"error": message}
    assert _control(sandbox, "GET", "faults").json() == []


def test_controls_need_an_admin(sandbox, make_user) -> None:
    """A non-admin token gets 403 on every control; no token gets 401."""
    user, theirs = make_user("dev")
    token = theirs.private_token

    answers = [
        _control(sandbox, "POST", "faults", {"status": 500}, token).status_code,
        _control(sandbox, "GET", "requests", token=token).status_code,
        _control(sandbox, "GET", "webhooks", token=token).status_code,
        requests.get(f"{sandbox.url}/-/sandbox/requests", timeout=10).status_code,
    ]

    assert answers == [403, 403, 403, 401]
