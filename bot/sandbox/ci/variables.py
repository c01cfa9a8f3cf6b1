"""CI/CD variables of a pipeline and of a job: predefined, YAML, project, trigger.

Precedence, lowest first (GitLab's "CI/CD variable precedence"): predefined
pipeline variables, global YAML ``variables``, workflow rule variables, job
YAML and rule variables, project CI/CD variables, pipeline variables (API,
trigger, upstream). Job identity variables (``CI_JOB_*``) come last and
cannot be overridden. Protected project variables reach protected refs only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.sandbox import http
from bot.sandbox.ci.model import VARIABLES, Job, Pipeline
from bot.sandbox.protection import is_protected
from bot.sandbox.records import Project, User

REFERENCE = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)")
MR_REF = re.compile(r"^refs/merge-requests/(\d+)/head$")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Replace ``$NAME`` and ``${NAME}`` with their values (unknown: empty)."""

    def value(found: re.Match[str]) -> str:
        if found.group() == "$$":
            return "$"
        return env.get(found.group(1) or found.group(2), "")

    return REFERENCE.sub(value, text)


def expand_all(pairs: Any, env: Mapping[str, str]) -> dict[str, str]:
    """Expand each ``(key, value)`` against ``env`` and the pairs before it."""
    scope = dict(env)
    result: dict[str, str] = {}
    for key, raw in pairs:
        result[key] = scope[key] = expand(str(raw), scope)
    return result


def slug(ref: str) -> str:
    """``CI_COMMIT_REF_SLUG``: lowercased, non-alphanumerics as ``-``, 63 chars."""
    text = re.sub(r"[^a-z0-9]", "-", ref.lower())[:63]
    return text.strip("-")


@dataclass(frozen=True)
class MergeRequestFacts:
    """The merge request a pipeline runs for."""

    id: int
    iid: int
    title: str
    source_branch: str
    target_branch: str
    diff_base_sha: str | None


def ref_name(pipeline: Pipeline, mr: MergeRequestFacts | None) -> str:
    """The branch or tag name (an MR pipeline's is its source branch)."""
    return mr.source_branch if mr is not None else pipeline.ref


def is_ref_protected(state: Any, project: Project, pipeline: Pipeline) -> bool:
    """Whether the pipeline's ref is a protected branch (tags: never here)."""
    if pipeline.tag or pipeline.merge_request_iid is not None:
        return False
    return is_protected(state, project, pipeline.ref)


def predefined(
    state: Any,
    project: Project,
    pipeline: Pipeline,
    user: User,
    mr: MergeRequestFacts | None,
) -> dict[str, str]:
    """The predefined variables of a pipeline (no job ones)."""
    path = http.project_path(state, project)
    ref = ref_name(pipeline, mr)
    commit = state.repo(project).commit_info(pipeline.sha)
    env = {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_SERVER": "yes",
        "CI_SERVER_URL": state.base_url,
        "CI_SERVER_HOST": state.base_url.split("://", 1)[-1].split(":")[0],
        "CI_API_V4_URL": f"{state.base_url}/api/v4",
        "CI_PROJECT_ID": str(project.id),
        "CI_PROJECT_NAME": project.path,
        "CI_PROJECT_TITLE": project.name,
        "CI_PROJECT_PATH": path,
        "CI_PROJECT_PATH_SLUG": slug(path),
        "CI_PROJECT_NAMESPACE": path.rsplit("/", 1)[0],
        "CI_PROJECT_URL": f"{state.base_url}/{path}",
        "CI_PROJECT_VISIBILITY": project.visibility,
        "CI_DEFAULT_BRANCH": project.default_branch,
        "CI_PIPELINE_ID": str(pipeline.id),
        "CI_PIPELINE_IID": str(pipeline.iid),
        "CI_PIPELINE_SOURCE": pipeline.source,
        "CI_PIPELINE_URL": f"{state.base_url}/{path}/-/pipelines/{pipeline.id}",
        "CI_PIPELINE_CREATED_AT": pipeline.created_at[:19] + "Z",
        "CI_COMMIT_SHA": pipeline.sha,
        "CI_COMMIT_SHORT_SHA": pipeline.sha[:8],
        "CI_COMMIT_BEFORE_SHA": pipeline.before_sha,
        "CI_COMMIT_REF_NAME": ref,
        "CI_COMMIT_REF_SLUG": slug(ref),
        "CI_COMMIT_REF_PROTECTED": str(
            is_ref_protected(state, project, pipeline)
        ).lower(),
        "CI_COMMIT_MESSAGE": commit.message,
        "CI_COMMIT_TITLE": commit.title,
        "CI_COMMIT_AUTHOR": f"{commit.author_name} <{commit.author_email}>",
        "GITLAB_USER_ID": str(user.id),
        "GITLAB_USER_LOGIN": user.username,
        "GITLAB_USER_EMAIL": user.email,
        "GITLAB_USER_NAME": user.name,
    }
    if pipeline.tag:
        env["CI_COMMIT_TAG"] = pipeline.ref
    elif mr is None:
        env["CI_COMMIT_BRANCH"] = pipeline.ref
    if pipeline.source == "trigger":
        env["CI_PIPELINE_TRIGGERED"] = "true"
    if mr is not None:
        env.update(_merge_request(state, project, path, mr))
    return env


def _merge_request(
    state: Any, project: Project, path: str, mr: MergeRequestFacts
) -> dict[str, str]:
    return {
        "CI_MERGE_REQUEST_ID": str(mr.id),
        "CI_MERGE_REQUEST_IID": str(mr.iid),
        "CI_MERGE_REQUEST_TITLE": mr.title,
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": mr.source_branch,
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": mr.target_branch,
        "CI_MERGE_REQUEST_PROJECT_ID": str(project.id),
        "CI_MERGE_REQUEST_PROJECT_PATH": path,
        "CI_MERGE_REQUEST_PROJECT_URL": f"{state.base_url}/{path}",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH": path,
        "CI_MERGE_REQUEST_REF_PATH": f"refs/merge-requests/{mr.iid}/head",
        "CI_MERGE_REQUEST_EVENT_TYPE": "detached",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": mr.diff_base_sha or "",
    }


def project_variables(state: Any, project: Project, protected_ref: bool) -> list[Any]:
    """The project's CI/CD variable records a pipeline on this ref may see."""
    return [
        record
        for record in state.store.find(VARIABLES, project_id=project.id)
        if protected_ref or not record.protected
    ]


def job_identity(state: Any, project: Project, job: Job, token: str) -> dict[str, str]:
    """The ``CI_JOB_*`` variables of one running job."""
    path = http.project_path(state, project)
    env = {
        "CI_JOB_ID": str(job.id),
        "CI_JOB_NAME": job.name,
        "CI_JOB_NAME_SLUG": slug(job.name),
        "CI_JOB_STAGE": job.stage,
        "CI_JOB_TOKEN": token,
        "CI_JOB_URL": f"{state.base_url}/{path}/-/jobs/{job.id}",
        "CI_JOB_STARTED_AT": (job.started_at or http.iso())[:19] + "Z",
        "CI_JOB_TIMEOUT": str(job.timeout or state.ci.default_timeout),
        "CI_REGISTRY_USER": "gitlab-ci-token",
    }
    if job.when == "manual":
        env["CI_JOB_MANUAL"] = "true"
    if job.environment:
        env["CI_ENVIRONMENT_NAME"] = job.environment
    return env
