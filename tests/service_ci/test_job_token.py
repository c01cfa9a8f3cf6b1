"""Service pipelines without an ID token prove themselves with CI_JOB_TOKEN.

``gitops-bot trigger`` falls back to the ``JOB-TOKEN`` header when the job
has no ID token; the bot asks GitLab (``GET /api/v4/job``) whose job it is.
A job token lives only while its job runs: the job below also hands its
token to a loopback receiver, and the token is replayed after the job ended.
"""

from __future__ import annotations

import requests

from bot.sandbox.testing import HookReceiver
from tests.service_ci.conftest import (
    World,
    changed_lines,
    job_log,
    staging_labels,
    tag_bump,
    trigger_ci,
)

# The second command sends the job's token to a receiver on loopback (an
# artifact-free channel: the log masks the token) so the test can replay it.
SERVICE_CI = trigger_ci(
    "api",
    id_token=False,
    then="""python3 -c 'import json, os, urllib.request as u;
      u.urlopen(u.Request(os.environ["RECEIVER_URL"],
      json.dumps({"token": os.environ["CI_JOB_TOKEN"]}).encode()))'""",
)


def test_job_token_opens_the_mr_and_dies_with_its_job(world: World) -> None:
    """JOB-TOKEN opens the MR; replayed after the job ended it gets 401, no write."""
    with HookReceiver() as receiver:
        api = world.project(
            "shop/api",
            {".gitlab-ci.yml": SERVICE_CI},
            GITOPS_BOT_URL=world.bot_url,
            RECEIVER_URL=receiver.url,
        )
        pipeline = world.tag(api, "v2.0.0")
    log = job_log(api, pipeline)
    assert pipeline.status == "success", log
    [received] = receiver.received
    token = received.body["token"]
    assert token not in log, "the job log masks CI_JOB_TOKEN"

    [mr] = world.bot_mrs("api")
    assert mr.web_url in log
    assert set(mr.labels) == staging_labels("api")
    assert changed_lines(mr) == tag_bump("v1.0.0", "v2.0.0")

    world.control.clear_log()
    replay = requests.post(
        f"{world.bot_url}/api/v1/deployments",
        json={"app": "api", "environment": "staging", "tag": "v2.1.0"},
        headers={"JOB-TOKEN": token},
        timeout=10,
    )
    assert replay.status_code == 401
    assert "job token is not valid (unknown, or its job has finished)" in replay.text
    assert token not in replay.text
    assert world.gitops_writes() == []
    assert [m.title for m in world.bot_mrs("api")] == ["Deploy api v2.0.0 to staging"]
