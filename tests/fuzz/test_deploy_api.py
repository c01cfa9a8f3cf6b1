"""Schemathesis against the deploy API (and /readyz, /healthz) on the
offline GitLab.

Generated requests, valid and invalid, reach the handlers with a static
token; every answer must be no 5xx, documented (status, content type,
headers) and match its response schema. Derandomized, so a CI run replays
the same examples.
"""

from __future__ import annotations

import re

import requests
import schemathesis
from hypothesis import HealthCheck, settings

from bot.server.openapi import build_document
from tests.fuzz.conftest import DeployApi

# The document is built from constants, so it is loaded once here: the
# base URL is only known to the fixture and is given with each call.
# (schemathesis.pytest.from_fixture fails under pytest 9: it reads
# ``Function._nodeid``, which pytest removed.)
schema = schemathesis.openapi.from_dict(build_document()).include(
    path_regex="^/api/v1/deployments|^/readyz$|^/healthz$"
)


@schema.parametrize()
@settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_deploy_api_answers_as_documented(
    case: schemathesis.Case, deploy_api: DeployApi
) -> None:
    """No 5xx, no unhandled error, every answer conforms to the document."""
    case.call_and_validate(base_url=deploy_api.url, headers=deploy_api.headers)


def test_fuzzing_reached_the_deploy_flow(deploy_api: DeployApi) -> None:
    """The run above (same module, so the same bot) did not stop at the door:
    besides refusals, real deploys were answered (opened, then unchanged or
    updated), as its /metrics counted."""
    text = requests.get(f"{deploy_api.url}/metrics", timeout=10).text
    outcomes = set(re.findall(r'deploy_requests_total\{outcome="(\w+)"\}', text))

    assert "opened" in outcomes
    assert {"refused_400", "refused_404"} <= outcomes
