"""Pin and unpin replies that match what happened to the merge request: the
tag a pin drops, and a merge request closed because it changes nothing."""

from __future__ import annotations

from bot.chatops.pins import PIN_PREFIX
from tests.e2e.build import MakeWorld
from tests.e2e.world import World

MANIFEST = "apps/web/staging/kustomization.yaml"
BRANCH = "gitops/staging/web"


async def _open_failing(world: World, tag: str) -> int:
    """An open staging MR for ``tag`` whose integration-test failed."""
    await world.set_result("fail")
    return await world.open_mr(tag)


async def _merge_pin(world: World, proposed: str, pinned: str) -> int:
    """A staging MR for ``proposed``, pinned by alice to ``pinned``, merged."""
    iid = await _open_failing(world, proposed)
    await world.comment("alice", iid, f"/gitops pin {pinned} broken checkout")
    await world.set_result("pass")
    await world.comment("alice", iid, "/gitops retry")
    assert (await world.state_of(iid)).state == "merged"
    return iid


async def test_pin_names_the_tag_it_replaces(world: World) -> None:
    """Pinning an MR for v2.0.0 to v1.0.0, the tag main runs, says the MR no
    longer proposes v2.0.0; the branch holds v1.0.0 and the pin line."""
    iid = await _open_failing(world, "v2.0.0")

    reply = await world.ask("alice", iid, "/gitops pin v1.0.0 broken checkout")

    assert reply == (
        "> `/gitops pin v1.0.0 broken checkout`\n\n"
        "Pinned to `v1.0.0` by alice: broken checkout once this merges: "
        f"updated in !{iid} (`v1.0.0`). "
        "This merge request no longer proposes `v2.0.0`. "
        "Later deploys are refused until `unpin`."
    )
    text = await world.sync(lambda: world.file(MANIFEST, BRANCH))
    assert "newTag: v1.0.0" in text and PIN_PREFIX in text
    assert (await world.state_of(iid)).state == "opened"


async def test_unpin_of_a_pin_on_the_running_tag_closes_and_says_so(
    world: World,
) -> None:
    """After a pin to the tag main runs, `unpin` leaves the MR with nothing to
    change: the bot closes it, and the reply says the pin is gone and the MR
    closed (not that anything will merge); main is untouched and deploys of
    other tags are accepted again."""
    iid = await _open_failing(world, "v2.0.0")
    await world.comment("alice", iid, "/gitops pin v1.0.0 broken checkout")

    reply = await world.ask("bob", iid, "/gitops unpin")

    assert reply == (
        "> `/gitops unpin`\n\n"
        "Pin removed: with it gone this merge request changes nothing "
        "(`v1.0.0` is what `main` runs), so it is closed."
    )
    assert "merges" not in reply
    assert (await world.state_of(iid)).state == "closed"
    notes = await world.sync(lambda: world.bot_notes(iid))
    assert "Closed by gitops-bot: v1.0.0 is already deployed on main." in notes
    text = await world.sync(lambda: world.file(MANIFEST))
    assert "newTag: v1.0.0" in text and PIN_PREFIX not in text
    assert (await world.deploy("v2.0.0"))["status"] == "opened"


async def test_unpin_on_a_merged_mr_whose_pin_was_lifted_says_none_is_left(
    world: World,
) -> None:
    """`unpin` on a merged pin MR once the pin's removal merged too finds no
    pin on main: the reply says so and no merge request opens."""
    iid = await _merge_pin(world, "v1.2.0", "v1.1.0")
    await world.comment("bob", iid, "/gitops unpin")
    assert PIN_PREFIX not in await world.sync(lambda: world.file(MANIFEST))
    count = len(await world.sync(lambda: world.merge_requests("staging")))

    reply = await world.ask("bob", iid, "/gitops unpin")

    assert reply == (
        "> `/gitops unpin`\n\nNo pin to remove: `main` runs `v1.1.0` without one."
    )
    assert len(await world.sync(lambda: world.merge_requests("staging"))) == count


async def test_pin_that_main_already_holds_closes_the_mr_and_says_so(
    world: World,
) -> None:
    """A forced deploy of v2.0.0 past a merged pin on v1.0.0 opens an MR that
    drops the pin; pinning it back exactly as main has it leaves nothing to
    merge: the MR is closed and the reply says so."""
    await _merge_pin(world, "v1.1.0", "v1.0.0")
    await world.set_result("fail")
    iid = (await world.deploy("v2.0.0", force=True))["merge_request"]["iid"]

    reply = await world.ask("alice", iid, "/gitops pin v1.0.0 broken checkout")

    assert reply == (
        "> `/gitops pin v1.0.0 broken checkout`\n\n"
        "`main` already holds this pin (`v1.0.0` by alice: broken checkout): "
        "this merge request changes nothing, so it is closed."
    )
    assert (await world.state_of(iid)).state == "closed"
    text = await world.sync(lambda: world.file(MANIFEST))
    assert "newTag: v1.0.0" in text and '"by":"alice"' in text


async def test_a_pin_in_an_open_mr_refuses_auto_promotion_into_it(
    make_world: MakeWorld,
) -> None:
    """While a pin sits in the open production MR (not merged yet), the auto
    promotion of a merged staging MR is refused, naming that MR, and said on
    the staging MR; the production MR keeps its pin."""
    world = await make_world(auto_promote=True)
    production = await world.open_mr("v2.0.0", "production")
    await world.comment("maria", production, "/gitops pin v1.0.0 incident")

    staging = (await world.deploy("v3.0.0"))["merge_request"]["iid"]

    assert (await world.state_of(staging)).state == "merged"
    notes = await world.sync(lambda: world.bot_notes(staging))
    expected = (
        "Promotion to production refused: web in production is pinned to "
        f"`v1.0.0` by maria: incident (in !{production})"
    )
    assert [note for note in notes if note.startswith(expected)] == notes
    assert len(notes) == 1
    path = "apps/web/production/kustomization.yaml"
    text = await world.sync(lambda: world.file(path, "gitops/production/web"))
    assert "newTag: v1.0.0" in text and PIN_PREFIX in text


async def test_unpin_on_a_closed_mr_without_a_pin_says_nothing_to_unpin(
    world: World,
) -> None:
    """`unpin` on a closed MR that never carried a pin is refused as such, not
    tried as a rollback against the newer open MR; that MR keeps its tag and
    no merge request is opened or changed."""
    await world.set_result("fail")
    closed = await world.open_mr("v1.2.0")
    await world.comment("bob", closed, "/gitops close")
    newer = await world.open_mr("v1.9.0")
    assert newer != closed
    before = await world.sync(lambda: world.branch_head(BRANCH))
    count = len(await world.sync(lambda: world.merge_requests("staging")))

    reply = await world.ask("bob", closed, "/gitops unpin")

    assert reply == (
        "> `/gitops unpin`\n\n"
        f"Not done: !{closed} is closed and carries no pin; nothing to unpin"
    )
    assert len(await world.sync(lambda: world.merge_requests("staging"))) == count
    assert (await world.sync(lambda: world.branch_head(BRANCH)))["id"] == before["id"]
    text = await world.sync(lambda: world.file(MANIFEST, BRANCH))
    assert "newTag: v1.9.0" in text and PIN_PREFIX not in text


async def _branches(world: World) -> list[str]:
    """The names of every branch of the project, sorted."""
    found = await world.sync(lambda: world.project.branches.list(get_all=True))
    return sorted(branch.name for branch in found)


async def test_unpin_on_a_closed_mr_whose_pin_never_merged_writes_nothing(
    world: World,
) -> None:
    """A pin proposed in an MR that was then closed never reached main: `unpin`
    on it is refused as having nothing to unpin, instead of opening a new
    deploy of the pinned tag; no merge request, branch or commit appears."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")
    await world.comment("alice", iid, "/gitops pin v1.1.0 before close")
    await world.comment("alice", iid, "/gitops close")
    assert (await world.state_of(iid)).state == "closed"
    assert PIN_PREFIX not in await world.sync(lambda: world.file(MANIFEST))
    main = await world.sync(lambda: world.branch_head("main"))
    branches = await _branches(world)
    assert BRANCH not in branches
    count = len(await world.sync(lambda: world.merge_requests("staging")))

    reply = await world.ask("bob", iid, "/gitops unpin")

    assert reply == (
        "> `/gitops unpin`\n\n"
        f"Not done: !{iid} is closed and its pin never merged; nothing to unpin"
    )
    assert len(await world.sync(lambda: world.merge_requests("staging"))) == count
    assert await _branches(world) == branches
    assert (await world.sync(lambda: world.branch_head("main")))["id"] == main["id"]


async def test_unpin_on_an_open_mr_without_any_pin_says_nothing_to_unpin(
    world: World,
) -> None:
    """`unpin` on an open MR that carries no pin, with none on main, says there
    is nothing to unpin (not that anything is removed once it merges); the
    MR stays open and no merge request, branch or commit appears."""
    iid = await _open_failing(world, "v2.0.0")
    assert PIN_PREFIX not in await world.sync(lambda: world.file(MANIFEST))
    main = await world.sync(lambda: world.branch_head("main"))
    head = await world.sync(lambda: world.branch_head(BRANCH))
    branches = await _branches(world)
    count = len(await world.sync(lambda: world.merge_requests("staging")))

    reply = await world.ask("bob", iid, "/gitops unpin")

    assert reply == (
        "> `/gitops unpin`\n\n"
        f"Nothing to unpin: !{iid} carries no pin and `main` holds none."
    )
    assert (await world.state_of(iid)).state == "opened"
    assert len(await world.sync(lambda: world.merge_requests("staging"))) == count
    assert await _branches(world) == branches
    assert (await world.sync(lambda: world.branch_head(BRANCH)))["id"] == head["id"]
    assert (await world.sync(lambda: world.branch_head("main")))["id"] == main["id"]
