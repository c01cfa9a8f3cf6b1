"""A GitOps project in the sandbox, and the bot's adapter pointed at it.

Shared by tests/gitlab, tests/deploy and bench/: the sandbox is the one
fake GitLab; these helpers only seed it and read its request log.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import gitlab
import requests
from aiohttp import web

from bot.gitlab import GitLab, RetryPolicy

FAST_RETRIES = RetryPolicy(
    deadline_seconds=20, backoff_base_seconds=0.01, backoff_max_seconds=0.05
)


def seed_project(gl: gitlab.Gitlab, name: str, files: dict[str, str]) -> Any:
    """Create a project whose default branch holds ``files`` (one commit)."""
    project = gl.projects.create({"name": name, "initialize_with_readme": True})
    project.commits.create(
        {
            "branch": project.default_branch,
            "commit_message": "Seed the GitOps repository",
            "actions": [
                {"action": "create", "file_path": path, "content": text}
                for path, text in files.items()
                if path != "README.md"
            ],
        }
    )
    return project


def seed_source_project(
    gl: gitlab.Gitlab, path: str, releases: dict[str, list[str]]
) -> Any:
    """Create the service project at ``group/name``: for each tag in order,
    merge one MR per title into main (GitLab's merge commits), then tag it."""
    group_path, name = path.split("/")
    found = [g for g in gl.groups.list(get_all=True) if g.path == group_path]
    group = (
        found[0]
        if found
        else gl.groups.create({"name": group_path, "path": group_path})
    )
    project = gl.projects.create(
        {"name": name, "namespace_id": group.id, "initialize_with_readme": True}
    )
    for tag, titles in releases.items():
        for title in titles:
            _merge_one(project, title)
        project.tags.create({"tag_name": tag, "ref": project.default_branch})
    return project


def _merge_one(project: Any, title: str) -> None:
    """Open an MR titled ``title`` with one new file, and merge it."""
    branch = f"feature/{len(project.mergerequests.list(get_all=True))}"
    project.commits.create(
        {
            "branch": branch,
            "start_branch": project.default_branch,
            "commit_message": f"Work on {title}",
            "actions": [{"action": "create", "file_path": branch, "content": title}],
        }
    )
    mr = project.mergerequests.create(
        {"source_branch": branch, "target_branch": project.default_branch,
         "title": title}
    )  # fmt: skip
    mr.merge()


def adapter(url: str, token: str, project: str, **options: Any) -> GitLab:
    """The bot's adapter with fast retries, for tests."""
    options.setdefault("policy", FAST_RETRIES)
    return GitLab(url, token, project, **options)


def close_with(app: web.Application, gitlab_adapter: GitLab) -> None:
    """Close ``gitlab_adapter`` when ``app`` shuts down (``create_app`` closes
    only an adapter it built itself)."""

    async def close(_: web.Application) -> None:
        gitlab_adapter.close()

    app.on_cleanup.append(close)


class Control:
    """The sandbox's ``/-/sandbox/`` controls: faults and the request log."""

    def __init__(self, url: str, root_token: str) -> None:
        self._url = url.rstrip("/") + "/-/sandbox"
        self._headers = {"PRIVATE-TOKEN": root_token}

    def inject(self, **fault: Any) -> None:
        """Add a fault: method, path (regex), count, status/retry_after/drop."""
        answer = requests.post(
            f"{self._url}/faults", json=fault, headers=self._headers, timeout=10
        )
        answer.raise_for_status()

    def clear_log(self) -> None:
        """Forget every request logged so far."""
        requests.delete(
            f"{self._url}/requests", headers=self._headers, timeout=10
        ).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """The logged API requests (controls excluded), oldest first."""
        answer = requests.get(
            f"{self._url}/requests", headers=self._headers, timeout=10
        )
        answer.raise_for_status()
        return [
            entry
            for entry in answer.json()["requests"]
            if not entry["path"].startswith("/-/sandbox")
        ]

    def calls(self) -> Counter[str]:
        """Logged API requests counted by ``"METHOD /projects/:id/..."``."""
        return Counter(
            f"{e['method']} {_short_route(e['route'])}" for e in self.requests()
        )

    def writes(self) -> list[dict[str, Any]]:
        """The logged requests that could change state."""
        return [e for e in self.requests() if e["method"] != "GET"]


def _short_route(route: str) -> str:
    """``/api/v4/projects/:project_id/x`` -> ``/projects/:id/x``."""
    return route.removeprefix("/api/v4").replace(":project_id", ":id")
