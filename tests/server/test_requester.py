"""Who requested an API deploy: the person behind the pipeline, never the project.

The requester's own approval does not count, so the deploy record must name
a user: the ID token's ``user_login`` claim, or the ``user.username`` GitLab
reports for a job token. A static token names nobody.
"""

from __future__ import annotations

from typing import Any

import gitlab
import pytest
from aiohttp.test_utils import TestClient

from bot.record import parse_marker
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import create_project
from tests.server.conftest import WEB_TOKEN, MakeBot
from tests.server.identity import Identity
from tests.server.test_deploy_flow import KUSTOMIZATION, URL, deploy


@pytest.fixture
def gitops(gl: gitlab.Gitlab) -> Any:
    """The GitOps project root/gitops with the web app's staging overlay."""
    return create_project(
        gl, "gitops", {"apps/web/staging/kustomization.yaml": KUSTOMIZATION}
    )


@pytest.fixture
async def live(
    make_bot: MakeBot, sandbox: SandboxThread, identity: Identity, gitops: Any
) -> TestClient:
    """The bot writing to the sandbox, verifying callers with ``identity``."""
    return await make_bot(
        gitlab_url=sandbox.url,
        gitlab_token=sandbox.root_token,
        identity_url=identity.url,
    )


def credentials(identity: Identity, kind: str) -> dict[str, str]:
    """Headers proving shop/web: started by alice, or (static) by nobody."""
    if kind == "id_token":
        token = identity.id_token("shop/web", user_login="alice")
        return {"Authorization": f"Bearer {token}"}
    if kind == "job_token":
        identity.add_job("job-token-alice", "shop/web", user="alice")
        return {"JOB-TOKEN": "job-token-alice"}
    return {"Authorization": f"Bearer {WEB_TOKEN}"}


@pytest.mark.parametrize(
    ("kind", "requester"),
    [("id_token", "alice"), ("job_token", "alice"), ("static", None)],
)
async def test_the_record_names_the_person_who_ran_the_pipeline(
    live: TestClient, identity: Identity, gitops: Any, kind: str, requester: str | None
) -> None:
    """The merge request's record says who requested it, not shop/web."""
    answer = await live.post(
        URL, json=deploy("v1.3.0"), headers=credentials(identity, kind)
    )
    body = await answer.json()
    assert answer.status == 201, body

    mr = gitops.mergerequests.get(body["merge_request"]["iid"])
    record = parse_marker(mr.description)
    assert record is not None
    assert record.requested_by == requester


async def test_a_job_answer_without_a_user_names_nobody(
    live: TestClient, identity: Identity, gitops: Any
) -> None:
    """A job token whose job names no user still deploys, requested by nobody."""
    identity.add_job("job-token-anon", "shop/web", user=None)

    answer = await live.post(
        URL, json=deploy("v1.3.0"), headers={"JOB-TOKEN": "job-token-anon"}
    )
    body = await answer.json()
    assert answer.status == 201, body

    record = parse_marker(
        gitops.mergerequests.get(body["merge_request"]["iid"]).description
    )
    assert record is not None and record.requested_by is None
