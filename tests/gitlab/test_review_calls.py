"""Approval rules per GitLab tier, the compare call, and starting a branch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot.config import parse_config
from bot.errors import InvalidInput
from bot.gitlab import (
    ApprovalRule,
    FileAction,
    GitLab,
    GitLabNotFound,
    GitLabRejected,
    NewMergeRequest,
)
from bot.jobs import connect
from bot.sandbox.server import SandboxThread
from bot.sandbox.testing import client
from tests.deploy.conftest import DATA, gitops_files, load_test_config, with_gitlab
from tests.gitlab.world import Control, seed_project, seed_source_project

RULES = "/projects/:id/merge_requests/:iid/approval_rules"
RULE = ApprovalRule(name="gitops-bot production", approvals_required=1)


@contextmanager
def bot_on(gitlab_tier: str, setting: str) -> Iterator[tuple[GitLab, Control]]:
    """A sandbox of ``gitlab_tier`` with the GitOps project, and the adapter
    built the way the job and the server build it, with ``tier: setting``."""
    with SandboxThread(tier=gitlab_tier) as sandbox:
        seed_project(client(sandbox, sandbox.root_token), "gitops", gitops_files())
        config = load_test_config(sandbox.url)
        config = with_gitlab(config, project="root/gitops", tier=setting)
        bot = connect(config, sandbox.root_token)
        yield bot, Control(sandbox.url, sandbox.root_token)
        bot.close()


async def open_mr(bot: GitLab, name: str) -> int:
    """Open an MR on a new branch; return its iid."""
    head = (await bot.fetch_file("README.md", "main")).commit_id
    await bot.commit_branch(
        name, start_sha=head, message=name, actions=[FileAction("create", name, "x")]
    )
    mr = await bot.create_merge_request(NewMergeRequest(name, "main", name, "", ()))
    return mr.iid


@pytest.mark.parametrize(
    ("gitlab_tier", "setting", "calls"),
    [
        ("free", "auto", [1, 0]),  # one 404 teaches it
        ("free", "free", [0, 0]),
        ("premium", "auto", [1, 1]),
        ("premium", "premium", [1, 1]),
        ("premium", "free", [0, 0]),  # told Free: no rule, no call
    ],
)
async def test_approval_rule_calls_per_tier(
    gitlab_tier: str, setting: str, calls: list[int]
) -> None:
    """Rule calls for two new MRs: ``auto`` learns Free from one 404,
    ``free`` never calls, Premium gets one POST per new MR."""
    made = []
    with bot_on(gitlab_tier, setting) as (bot, control):
        for name in ("gitops/a", "gitops/b"):
            iid = await open_mr(bot, name)
            control.clear_log()
            added = await bot.ensure_approval_rule(iid, RULE, is_new=True)
            made.append(sum(n for k, n in control.calls().items() if k.endswith(RULES)))
            assert added == (gitlab_tier == "premium" and setting != "free")

    assert made == calls


async def test_premium_setting_on_a_free_gitlab_names_the_setting() -> None:
    """``tier: premium`` where the route does not exist is an error saying
    which setting to change, not a silent skip."""
    with bot_on("free", "premium") as (bot, _):
        iid = await open_mr(bot, "gitops/a")

        with pytest.raises(GitLabNotFound, match="gitlab.tier is premium; set it"):
            await bot.ensure_approval_rule(iid, RULE, is_new=True)


def test_tier_is_validated() -> None:
    """An unknown tier is refused naming the file, line, key and choices."""
    path = DATA / "bot.yaml"
    branch = "  target_branch: main\n"
    text = path.read_text().replace(branch, branch + "  tier: gold\n")
    line = text.splitlines().index("  tier: gold") + 1

    with pytest.raises(InvalidInput) as refused:
        parse_config(text, str(path), {})

    assert f"{path}:{line}: gitlab.tier: expected one of auto, free, premium, " \
        "got 'gold'" in str(refused.value)  # fmt: skip


async def test_compare_messages_of_another_project(
    sandbox: SandboxThread, gl: Any, bot: GitLab
) -> None:
    """The compare call reads a project other than the GitOps one: the
    messages between two tags, oldest first; an unknown project is a 404."""
    seed_source_project(gl, "shop/web", {"v1": [], "v2": ["Add A", "Add B"]})

    messages = await bot.fetch_compare_messages("shop/web", "v1", "v2")

    merges = [m for m in messages if "See merge request" in m]
    assert [m.split("\n")[2] for m in merges] == ["Add A", "Add B"]
    with pytest.raises(GitLabNotFound, match="fetch_compare_messages shop/none"):
        await bot.fetch_compare_messages("shop/none", "v1", "v2")


async def test_branch_start_without_force_leaves_an_existing_branch(
    bot: GitLab, project: Any
) -> None:
    """Without force an existing branch is refused (``branch_exists``) and
    keeps its head; with force it is rebuilt in place."""
    head = project.branches.get("main").commit["id"]
    action = [FileAction("create", "x.txt", "x")]
    first = await bot.commit_branch(
        "gitops/x", start_sha=head, message="x", actions=action, force=False
    )

    with pytest.raises(GitLabRejected) as refused:
        await bot.commit_branch(
            "gitops/x", start_sha=head, message="y", actions=action, force=False
        )

    assert refused.value.branch_exists
    assert (await bot.fetch_branch("gitops/x")).sha == first.sha
    rebuilt = await bot.commit_branch(
        "gitops/x", start_sha=head, message="z", actions=action
    )
    assert rebuilt.parent_ids == (head,) and rebuilt.sha != first.sha
