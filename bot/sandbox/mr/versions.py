"""Merge request diff versions: one record per reload of the diff, and its shapes.

GitLab keeps a ``merge_request_diff`` each time it reloads a merge request's
diff (creation, a push to the source branch, a new target branch, a reopen).
``reads`` serves them at ``GET .../merge_requests/:iid/versions`` (newest
first, paginated) and ``.../versions/:version_id`` (with the version's
commits and diffs), as doc/api/merge_requests.md documents them ("Get merge
request diff versions"). Known gaps: ``patch_id_sha`` is not computed, and
``unidiff`` is ignored (diffs are always in GitLab's default format).
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import entities, gitdiff, http
from bot.sandbox.mr import core
from bot.sandbox.mr.model import DIFF_VERSIONS, DiffVersion, MergeRequest
from bot.sandbox.records import Project

JSON = dict[str, Any]


def record(state: Any, project: Project, mr: MergeRequest) -> DiffVersion | None:
    """Store a version of ``mr`` at its current heads; None without a head."""
    if mr.sha is None:
        return None

    repo = core.repository(state, project)
    changed = 0 if mr.base_sha is None else len(gitdiff.diff(repo, mr.base_sha, mr.sha))
    version = DiffVersion(
        mr_id=mr.id,
        head_commit_sha=mr.sha,
        base_commit_sha=mr.base_sha,
        start_commit_sha=mr.start_sha,
        created_at=http.iso(),
        real_size=str(changed),
    )
    return state.store.insert(DIFF_VERSIONS, version)


def versions_of(state: Any, mr: MergeRequest) -> list[DiffVersion]:
    """Every version of ``mr``, newest first (GitLab orders by id)."""
    found = state.store.find(DIFF_VERSIONS, mr_id=mr.id)
    return sorted(found, key=lambda version: version.id, reverse=True)


def version_entity(version: DiffVersion) -> JSON:
    """The ``MergeRequestDiff`` entity (list entries)."""
    return {
        "id": version.id,
        "head_commit_sha": version.head_commit_sha,
        "base_commit_sha": version.base_commit_sha,
        "start_commit_sha": version.start_commit_sha,
        "created_at": version.created_at,
        "merge_request_id": version.mr_id,
        "state": version.state,
        "real_size": version.real_size,
    }


def full_entity(state: Any, project: Project, version: DiffVersion) -> JSON:
    """The ``MergeRequestDiffFull`` entity: the version, its commits and diffs."""
    repo = core.repository(state, project)
    head, base = version.head_commit_sha, version.base_commit_sha
    commits = repo.log(head, exclude=base) if base else repo.log(head)
    return {
        **version_entity(version),
        "commits": [entities.commit(state, project, info) for info in commits],
        "diffs": gitdiff.diff(repo, base, head) if base else [],
    }
