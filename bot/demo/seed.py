"""The demo's world on the offline GitLab: people, groups, two projects.

- ``platform/gitops``: the GitOps repository (one Kustomize overlay per
  environment) with a merge request pipeline running ``integration-test``;
  the bot is its only writer.
- ``my-org/my-app``: a service whose tag pipeline asks the bot to deploy,
  proving who it is with a GitLab CI/CD ID token.
- alice and bob are maintainers in ``platform/sre``; dave is a developer
  outside it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import gitlab

AUDIENCE = "gitops-bot-demo"
IMAGE = "registry.example.com/my-org/my-app"
MAINTAINER, DEVELOPER = 40, 30

KUSTOMIZATION = f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  # bumped by gitops-bot: only the tag line below changes
  - name: {IMAGE}
    newTag: v1.0.0
"""

GITOPS_CI = """\
stages: [test]
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
integration-test:
  stage: test
  script:
    - grep -h "newTag:" apps/*/my-app/kustomization.yaml
    - echo "overlays render and validate"
"""

SERVICE_CI = f"""\
stages: [deploy]
gitops-deploy:
  stage: deploy
  rules:
    - if: $CI_COMMIT_TAG
  id_tokens:
    GITOPS_BOT_ID_TOKEN:
      aud: {AUDIENCE}
  script:
    - >
      $GITOPS_BOT_COMMAND trigger --url "$GITOPS_BOT_URL" --app my-app
      --env staging --tag "$CI_COMMIT_TAG" --timeout 60
"""


@dataclass(frozen=True)
class DemoWorld:
    """What the walk-through needs: clients per person and the two projects."""

    clients: dict[str, gitlab.Gitlab]
    user_ids: dict[str, int]
    tokens: dict[str, str]
    gitops: Any
    service: Any


def _person(root: gitlab.Gitlab, username: str) -> tuple[Any, str]:
    user = root.users.create(
        {
            "username": username,
            "name": username.replace("-", " ").title(),
            "email": f"{username}@example.com",
            "password": "demo-password-1",
        }
    )
    token = user.personal_access_tokens.create({"name": "demo", "scopes": ["api"]})
    return user, token.token


def _project(root: gitlab.Gitlab, group: Any, name: str, files: dict[str, str]) -> Any:
    project = root.projects.create(
        {"name": name, "namespace_id": group.id, "initialize_with_readme": True}
    )
    project.commits.create(
        {
            "branch": project.default_branch,
            "commit_message": f"Set up {name}",
            "actions": [
                {"action": "create", "file_path": path, "content": text}
                for path, text in files.items()
            ],
        }
    )
    return project


def seed(url: str, root_token: str, bot_url: str) -> DemoWorld:
    """Create everything the walk-through uses; return it."""
    root = gitlab.Gitlab(url, private_token=root_token, timeout=30)
    people = {
        name: _person(root, name) for name in ("gitops-bot", "alice", "bob", "dave")
    }
    ids = {name: user.id for name, (user, _) in people.items()}

    # Internal: the bot reads platform/sre's members to count approvals.
    platform = root.groups.create(
        {"name": "platform", "path": "platform", "visibility": "internal"}
    )
    sre = root.groups.create(
        {
            "name": "sre",
            "path": "sre",
            "parent_id": platform.id,
            "visibility": "internal",
        }
    )
    org = root.groups.create({"name": "my-org", "path": "my-org"})
    for name in ("alice", "bob"):
        sre.members.create({"user_id": ids[name], "access_level": MAINTAINER})

    gitops = _project(root, platform, "gitops", _gitops_files())
    levels = {"gitops-bot": MAINTAINER, "alice": MAINTAINER, "bob": MAINTAINER}
    for name, level in {**levels, "dave": DEVELOPER}.items():
        gitops.members.create({"user_id": ids[name], "access_level": level})

    service = _project(root, org, "my-app", {".gitlab-ci.yml": SERVICE_CI})
    service.variables.create({"key": "GITOPS_BOT_URL", "value": bot_url})
    service.variables.create(
        {"key": "GITOPS_BOT_COMMAND", "value": f"{sys.executable} -m bot"}
    )
    clients = {
        name: gitlab.Gitlab(url, private_token=token, timeout=30)
        for name, (_, token) in people.items()
    }
    tokens = {name: token for name, (_, token) in people.items()}
    return DemoWorld(clients, ids, tokens, gitops, service)


def add_bot_webhook(gitops: Any, bot_url: str, secret: str) -> None:
    """Send the GitOps project's events the bot handles to ``bot_url``."""
    gitops.hooks.create(
        {
            "url": f"{bot_url}/webhooks/gitlab",
            "token": secret,
            "merge_requests_events": True,
            "note_events": True,
            "pipeline_events": True,
            "emoji_events": True,
            "push_events": False,
        }
    )


def _gitops_files() -> dict[str, str]:
    files = {".gitlab-ci.yml": GITOPS_CI}
    for env in ("staging", "production"):
        files[f"apps/{env}/my-app/kustomization.yaml"] = KUSTOMIZATION
        files[f"apps/{env}/my-app/deployment.yaml"] = _deployment(env)
    return files


def _deployment(env: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-app
  namespace: {env}
spec:
  template:
    spec:
      containers:
        - name: my-app
          image: {IMAGE}
"""


def bot_config(url: str) -> str:
    """The bot's configuration for the demo (YAML text)."""
    return f"""\
gitlab:
  url: {url}
  token_env: GITOPS_BOT_DEMO_TOKEN
  project: platform/gitops
  target_branch: main
  timeout_seconds: 10
  retry_deadline_seconds: 30
server:
  webhook_secret_env: GITOPS_BOT_DEMO_WEBHOOK_SECRET
  id_token_audience: {AUDIENCE}
  sweep_interval_seconds: 20
environments:
  staging:
    approvals: {{required: 0}}
    promote_to: production
    auto_promote: true
  production:
    approvals: {{required: 2, groups: [platform/sre], min_access_level: maintainer}}
    required_jobs: [integration-test]
apps:
  my-app:
    image: {IMAGE}
    sources: [my-org/my-app]
    environments: [staging, production]
    manifests:
      - path: apps/{{env}}/my-app/kustomization.yaml
"""
