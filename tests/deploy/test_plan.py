"""The pure half of the deploy flow: checks, plans, version order, survivors."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.config import Config, UnknownName
from bot.deploy import (
    DeployRequest,
    KeyedLocks,
    Pinned,
    Snapshot,
    check_request,
    is_bot_merge_request,
    plan_deploy,
)
from bot.errors import InvalidInput, Refused
from bot.gitlab import MergeRequest, RepositoryFile
from bot.policy import NotAllowed, OlderTag
from bot.record import DeployRecord, Pin, Source, render_marker
from tests.deploy.conftest import gitops_files

HEAD = "a" * 40
BRANCH = "gitops/staging/web"


def snapshot(*mrs: MergeRequest, env: str = "staging") -> Snapshot:
    """The web app's files at HEAD, and the given open merge requests."""
    files = gitops_files()
    paths = (f"apps/web/{env}/kustomization.yaml", f"charts/web/values-{env}.yaml")
    return Snapshot(
        head_sha=HEAD,
        files=tuple(
            RepositoryFile(path, files[path], "main", HEAD, HEAD, "b" * 40)
            for path in paths
        ),
        merge_requests=mrs,
    )


def bot_mr(iid: int, tag: str | None, **record: object) -> MergeRequest:
    """An open bot MR for web in staging proposing ``tag``."""
    marker = render_marker(
        DeployRecord("web", "staging", "registry.example.com/shop/web", tag, **record)
    )
    return MergeRequest(
        iid=iid, state="opened", title=f"Deploy web {tag} to staging",
        description=f"text\n\n{marker}\n", labels=("gitops-bot",),
        source_branch=BRANCH, target_branch="main", sha="c" * 40,
        web_url=f"http://gitlab/mr/{iid}", draft=False, author_id=1,
        created_at="2024-01-01T00:00:00Z", detailed_merge_status=None,
        reviewer_ids=(),
    )  # fmt: skip


def request(tag: str | None = "v1.3.0", **fields: object) -> DeployRequest:
    """A deploy request for web in staging."""
    return DeployRequest(app="web", environment="staging", tag=tag, **fields)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"app": "nope"}, UnknownName, "unknown app 'nope'; known: api, web"),
        (
            {"environment": "qa"},
            UnknownName,
            "unknown environment 'qa'; known: production",
        ),
        ({"app": "api", "environment": "production"}, NotAllowed, "api is not"),
        ({"app": "Web"}, InvalidInput, "invalid app name 'Web'"),
        ({"tag": "v1 .2"}, InvalidInput, "invalid tag 'v1 .2'"),
        ({"tag": "-v1"}, InvalidInput, "invalid tag '-v1'"),
        ({"tag": None}, InvalidInput, "nothing to deploy"),
        ({"digest": "sha256:xyz"}, InvalidInput, "invalid digest 'sha256:xyz'"),
        (
            {"source": Source(project="shop/api")},
            NotAllowed,
            "project shop/api may not deploy app web",
        ),
        (
            {"environment": "production", "tag": "v1.3.0-rc.1"},
            NotAllowed,
            "does not match the tag pattern of environment production",
        ),
    ],
)
def test_check_request_refuses(
    config: Config, fields: dict, error: type, message: str
) -> None:
    """Each malformed or disallowed request is refused with a precise message."""
    with pytest.raises(error, match=message.replace(".", r"\.").replace("(", r"\(")):
        check_request(config, replace(request(), **fields))


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"source": Source(project="shop/web")},
        {"source": Source(project="SHOP/Web")},
        {"tag": None, "digest": "sha256:" + "0" * 64},
        {"environment": "production", "tag": "v2.0.0"},
    ],
)
def test_check_request_accepts(config: Config, fields: dict) -> None:
    """Well-formed requests from allowed sources pass the checks."""
    check_request(config, replace(request(), **fields))


def test_plan_for_a_new_merge_request(config: Config) -> None:
    """No open MR: the plan edits both files, labels and records the old tag."""
    plan = plan_deploy(config, request(), snapshot())

    assert plan.keep is None and plan.duplicates == ()
    assert plan.changed and plan.branch == BRANCH and plan.head_sha == HEAD
    assert plan.labels == ("gitops-bot", "app::web", "env::staging", "team::deploy")
    assert plan.title == "Deploy web v1.3.0 to staging"
    assert plan.record.previous_tag == "v1.2.0" and plan.record.tag == "v1.3.0"
    assert render_marker(plan.record) in plan.description
    changed = [line for line in plan.diff.splitlines() if line[:1] in "+-"]
    assert [line for line in changed if not line.startswith(("+++", "---"))] == [
        "-    newTag: v1.2.0  # managed by gitops-bot",
        "+    newTag: v1.3.0  # managed by gitops-bot",
        "-  tag: v1.2.0",
        "+  tag: v1.3.0",
    ]


def test_plan_accumulates_superseded_tags(config: Config) -> None:
    """Updating an MR records its previous tag among the superseded ones."""
    keep = bot_mr(7, "v1.2.5", superseded_tags=("v1.2.1",))
    plan = plan_deploy(config, request(), snapshot(keep))

    assert plan.keep == keep
    assert plan.record.superseded_tags == ("v1.2.1", "v1.2.5")


@pytest.mark.parametrize(
    ("mrs", "message"),
    [
        ((), "tag v1.1.0 is older than v1.2.0 deployed on platform/gitops@main"),
        ((bot_mr(3, "v1.1.5"),), "tag v1.1.0 is older than v1.2.0 deployed"),
    ],
)
def test_older_than_deployed_is_refused(
    config: Config, mrs: tuple, message: str
) -> None:
    """A tag older than the deployed one is refused, naming the newer one."""
    with pytest.raises(OlderTag, match=message):
        plan_deploy(config, request("v1.1.0"), snapshot(*mrs))


def test_older_than_proposed_is_refused_and_force_rolls_back(config: Config) -> None:
    """Older than the open MR's tag: refused, unless force (a rollback)."""
    keep = bot_mr(4, "v1.5.0")
    with pytest.raises(OlderTag, match=r"older than v1\.5\.0 proposed in !4"):
        plan_deploy(config, request("v1.3.0"), snapshot(keep))

    plan = plan_deploy(config, request("v1.1.0", force=True), snapshot(keep))
    assert plan.record.tag == "v1.1.0" and plan.record.superseded_tags == ("v1.5.0",)


def test_pinned_key_refuses_other_tags(config: Config) -> None:
    """A pin in the open MR's record refuses any other tag, naming who pinned
    it and why; a forced request goes past it and lifts it."""
    keep = bot_mr(5, "v1.2.2", pin=Pin(tag="v1.2.2", reason="incident", by="bob"))
    with pytest.raises(Pinned, match="pinned to v1.2.2 by bob: incident \\(in !5\\)"):
        plan_deploy(config, request("v1.3.0"), snapshot(keep))
    assert isinstance(Pinned("x"), Refused) and Pinned.http_status == 409

    forced = plan_deploy(config, request("v1.3.0", force=True), snapshot(keep))
    assert forced.record.pin is None and forced.record.tag == "v1.3.0"


def test_oldest_bot_mr_survives(config: Config) -> None:
    """Several open bot MRs for the key: the oldest is kept, the rest closed."""
    mrs = (bot_mr(9, "v1.2.1"), bot_mr(4, "v1.2.1"), bot_mr(12, "v1.2.1"))
    plan = plan_deploy(config, request(), snapshot(*mrs))

    assert plan.keep is not None and plan.keep.iid == 4
    assert [mr.iid for mr in plan.duplicates] == [9, 12]


def test_same_tag_as_deployed_changes_nothing(config: Config) -> None:
    """Requesting the deployed tag plans no change."""
    plan = plan_deploy(config, request("v1.2.0"), snapshot())
    assert not plan.changed and plan.diff == ""


@pytest.mark.parametrize(
    ("author", "branch", "record_key", "expected"),
    [
        (1, BRANCH, None, True),
        (1, "feature/copy", ("web", "staging"), True),
        (1, "feature/copy", ("web", "production"), False),
        (1, "feature/copy", None, False),
        (1, "gitops/production/web", None, False),
        # A human's MR: the bot's branch name, a copied record, or both.
        (7, BRANCH, None, False),
        (7, "feature/copy", ("web", "staging"), False),
        (7, BRANCH, ("web", "staging"), False),
        (None, BRANCH, ("web", "staging"), False),
    ],
)
def test_is_bot_merge_request(
    author: int | None, branch: str, record_key: tuple | None, expected: bool
) -> None:
    """The bot's MR: opened by the bot (user 1), on its branch or carrying a
    record for the key; nobody else's MR is, whatever it copies."""
    description = "human text"
    if record_key is not None:
        description += render_marker(DeployRecord(*record_key, image="i", tag="v1"))
    mr = replace(
        bot_mr(1, "v1"), source_branch=branch, description=description,
        author_id=author,
    )  # fmt: skip
    assert is_bot_merge_request(mr, BRANCH, "web", "staging", 1) is expected


async def test_keyed_locks_serialise_one_key_and_not_others() -> None:
    """Holders of one key run one at a time; other keys run meanwhile."""
    locks, order = KeyedLocks(), []

    async def hold(key: str, name: str, pause: asyncio.Event | None) -> None:
        async with locks.hold(key):
            order.append(f"{name} in")
            if pause is not None:
                await pause.wait()
            order.append(f"{name} out")

    gate = asyncio.Event()
    first = asyncio.create_task(hold("a", "a1", gate))
    second = asyncio.create_task(hold("a", "a2", None))
    await asyncio.sleep(0)
    await hold("b", "b1", None)
    gate.set()
    await asyncio.gather(first, second)

    assert order == ["a1 in", "b1 in", "b1 out", "a1 out", "a2 in", "a2 out"]
    assert (locks.users("a"), locks.users("b")) == (0, 0)
    assert locks
