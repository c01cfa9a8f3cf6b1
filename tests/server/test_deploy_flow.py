"""The deploy API against the offline GitLab: answers and what was written.

The bot runs in-process; the sandbox runs in its own thread, so that the
test can set up the GitOps project with python-gitlab and read the sandbox's
request log to see which writes happened.
"""

from __future__ import annotations

from typing import Any

import gitlab
import pytest
from aiohttp.test_utils import TestClient

from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import create_project
from tests.server.conftest import WEB_TOKEN, MakeBot

URL = "/api/v1/deployments"
AUTH = {"Authorization": f"Bearer {WEB_TOKEN}"}
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
  - name: registry.example.com/shop/web
    newTag: v1.2.0
"""
WRITES = {"POST", "PUT", "DELETE", "PATCH"}


@pytest.fixture
def gitops(gl: gitlab.Gitlab) -> Any:
    """The GitOps project root/gitops with the web app's staging overlay."""
    return create_project(
        gl, "gitops", {"apps/web/staging/kustomization.yaml": KUSTOMIZATION}
    )


@pytest.fixture
async def live(make_bot: MakeBot, sandbox: SandboxThread, gitops: Any) -> TestClient:
    """The bot with its adapter on the sandbox; the set-up's writes forgotten."""
    sandbox.call(sandbox.state.request_log.clear)
    return await make_bot(gitlab_url=sandbox.url, gitlab_token=sandbox.root_token)


def writes(sandbox: SandboxThread) -> list[str]:
    """The write requests the sandbox received, as "METHOD route"."""
    entries = sandbox.state.request_log.entries
    return [f"{e['method']} {e['route']}" for e in entries if e["method"] in WRITES]


def deploy(tag: str, **extra: Any) -> dict[str, Any]:
    """A deploy request body for web in staging."""
    return {"app": "web", "environment": "staging", "tag": tag, **extra}


async def test_opened_updated_unchanged(
    live: TestClient, sandbox: SandboxThread
) -> None:
    """201 opens the MR, 200 updates it, 200 unchanged writes nothing more."""
    opened = await live.post(URL, json=deploy("v1.3.0"), headers=AUTH)
    body = await opened.json()
    assert opened.status == 201, body
    assert (body["status"], body["previous_tag"], body["tag"]) == (
        "opened",
        "v1.2.0",
        "v1.3.0",
    )
    iid = body["merge_request"]["iid"]

    updated = await live.post(URL, json=deploy("v1.4.0"), headers=AUTH)
    body = await updated.json()
    assert (updated.status, body["status"]) == (200, "updated"), body
    assert body["merge_request"]["iid"] == iid

    before = writes(sandbox)
    again = await live.post(URL, json=deploy("v1.4.0"), headers=AUTH)
    assert again.status == 200
    assert (await again.json())["status"] == "unchanged"
    assert writes(sandbox) == before


async def test_older_tag_is_409_and_writes_nothing(
    live: TestClient, sandbox: SandboxThread
) -> None:
    """An older tag than the proposed one is refused with 409 naming both."""
    assert (await live.post(URL, json=deploy("v2.0.0"), headers=AUTH)).status == 201
    before = writes(sandbox)

    older = await live.post(URL, json=deploy("v1.9.0"), headers=AUTH)
    body = await older.json()
    assert older.status == 409, body
    assert "v1.9.0" in body["message"] and "v2.0.0" in body["message"]
    assert writes(sandbox) == before

    forced = await live.post(URL, json=deploy("v1.9.0", force=True), headers=AUTH)
    assert forced.status == 200, await forced.json()


async def test_dry_run_answers_the_diff_and_writes_nothing(
    live: TestClient, sandbox: SandboxThread
) -> None:
    """A dry run shows the tag line it would change and writes nothing; its
    status is dry_run, and ``would`` says what the real call would do."""
    answer = await live.post(URL, json=deploy("v1.3.0", dry_run=True), headers=AUTH)
    body = await answer.json()
    assert answer.status == 200, body
    assert (body["status"], body["would"], body["merge_request"]) == (
        "dry_run",
        "open",
        None,
    )
    assert "+    newTag: v1.3.0" in body["diff"]
    assert writes(sandbox) == []
    metrics = await (await live.get("/metrics")).text()
    assert 'gitops_bot_deploy_requests_total{outcome="dry_run"} 1.0' in metrics
    assert 'outcome="opened"' not in metrics


@pytest.mark.parametrize(
    ("tag", "would"), [("v1.4.0", "update"), ("v1.3.0", "nothing")]
)
async def test_dry_run_says_what_it_would_do_to_an_open_merge_request(
    live: TestClient, sandbox: SandboxThread, tag: str, would: str
) -> None:
    """With an MR open, a dry run would update it (a newer tag) or do nothing
    (the same tag); it names the MR and writes nothing."""
    opened = await (await live.post(URL, json=deploy("v1.3.0"), headers=AUTH)).json()
    before = writes(sandbox)

    answer = await live.post(URL, json=deploy(tag, dry_run=True), headers=AUTH)
    body = await answer.json()
    assert answer.status == 200, body
    assert (body["status"], body["would"], body["dry_run"]) == ("dry_run", would, True)
    assert body["merge_request"] == opened["merge_request"]
    assert writes(sandbox) == before


async def test_status_shows_target_tag_and_open_merge_request(
    live: TestClient,
) -> None:
    """GET names the tag on the target branch and the open MR with its tag."""
    opened = await (await live.post(URL, json=deploy("v1.3.0"), headers=AUTH)).json()
    answer = await live.get(f"{URL}/web/staging", headers=AUTH)
    body = await answer.json()
    assert answer.status == 200, body
    assert (body["tag"], body["target_branch"]) == ("v1.2.0", "main")
    mr = body["merge_request"]
    assert (mr["iid"], mr["state"], mr["tag"]) == (
        opened["merge_request"]["iid"],
        "opened",
        "v1.3.0",
    )


async def test_status_refuses_other_projects(live: TestClient) -> None:
    """A caller may only read the status of what it may deploy."""
    answer = await live.get(f"{URL}/api/staging", headers=AUTH)
    assert answer.status == 403
