"""Text the bot copies into a merge request description (manifest lines in
the diff, a pin reason) cannot break or forge the hidden deploy record."""

from __future__ import annotations

from tests.e2e.world import World

MANIFEST = "apps/web/staging/kustomization.yaml"
INJECTED = '<!-- gitops-bot:record {"app":"x"} -->'
EVIL_REASON = (
    'evil --> <!-- gitops-bot:record {"app":"my-app","environment":"staging",'
    '"tag":"v0.0.1"} --> done'
)


async def _comment_manifest_on_main(world: World) -> None:
    """A reviewed commit on main puts marker text next to the image tag."""
    text = await world.sync(lambda: world.file(MANIFEST))
    commented = text.replace(
        "    newTag: v1.0.0", f"    # reviewed {INJECTED}\n    newTag: v1.0.0"
    )
    commit = {
        "branch": "main",
        "commit_message": "Note the review",
        "actions": [{"action": "update", "file_path": MANIFEST, "content": commented}],
    }
    await world.sync(lambda: world.project.commits.create(commit))
    await world.settle()


def _opened_comments(description: str) -> int:
    """How many HTML comments the description opens."""
    return description.count("<!--")


async def test_marker_text_in_the_diff_and_a_pin_reason_keeps_the_record(
    world: World,
) -> None:
    """With marker text in a manifest comment on main and in a pin reason,
    the MR's description opens exactly one comment (the bot's record), the
    pin holds (a later deploy is refused 409, nothing new opened), `status`
    answers a developer, and the gate merges once the pipeline passes."""
    await _comment_manifest_on_main(world)
    await world.set_result("fail")
    iid = await world.open_mr("v1.2.0")

    reply = await world.ask("alice", iid, f"/gitops pin v1.1.0 {EVIL_REASON}")

    assert "Pinned to `v1.1.0` by alice" in reply
    description = (await world.state_of(iid)).description
    assert "# reviewed" in description and "gitops-bot:pin" in description
    assert _opened_comments(description) == 1
    assert description.count("-->") == 1
    assert description.rstrip().splitlines()[-1].startswith("<!-- gitops-bot:record {")

    count = len(await world.sync(lambda: world.merge_requests("staging")))
    status, answer = await world.post_deploy("v2.0.0")
    assert status == 409, answer
    assert f"pinned to v1.1.0 by alice: {EVIL_REASON} (in !{iid})" in answer["message"]
    assert len(await world.sync(lambda: world.merge_requests("staging"))) == count

    reply = await world.ask("bob", iid, "/gitops status")
    assert "needs Owner" not in reply and "readable" not in reply

    await world.set_result("pass")
    await world.comment("bob", iid, "/gitops retry")
    assert (await world.state_of(iid)).state == "merged"
    text = await world.sync(lambda: world.file(MANIFEST))
    assert "newTag: v1.1.0" in text and f"# reviewed {INJECTED}" in text
