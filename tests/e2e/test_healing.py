"""Comment commands whose webhook was lost are answered before the gate runs.

Each test loses a note webhook for real: the offline GitLab drops the next
delivery (``{"webhooks": "drop", "count": 1}``), as a restart of the bot
with the event still queued in memory would.
"""

from __future__ import annotations

from typing import Any

from bot.chatops.ledger import read_marker
from bot.gate.model import HOLD_LABEL
from tests.e2e.world import World


def answers_to(world: World, iid: int, note_id: int) -> list[str]:
    """The bot's notes on ``!iid`` whose hidden marker names ``note_id``."""
    found = []
    for body in world.bot_notes(iid):
        marker = read_marker(body)
        if marker is not None and note_id in marker[0]:
            found.append(body)
    return found


async def lost_comment(world: World, who: str, iid: int, body: str) -> Any:
    """``who`` comments on ``!iid`` and GitLab's note webhook is dropped; the
    bot has not answered once everything settled."""
    world.control.inject(webhooks="drop", count=1)
    note = await world.comment(who, iid, body)

    dropped = [
        delivery
        for delivery in world.sandbox.state.webhooks.deliveries
        if delivery["fault"] == "drop"
    ]
    assert [delivery["event"] for delivery in dropped] == ["Note Hook"]
    assert dropped[0]["request_body"]["object_attributes"]["id"] == note.id
    assert await world.sync(lambda: answers_to(world, iid, note.id)) == []
    return note


async def test_lost_hold_wins_over_the_last_approval(world: World) -> None:
    """The reported bug: bob's hold on a production MR never reaches the bot,
    then the second approval comes in. The approval's gate run answers the
    hold first: the MR is held, not merged, and the hold has one reply."""
    iid = await world.open_mr("v1.1.0", "production")
    await world.approve("bob", iid)
    note = await lost_comment(world, "bob", iid, "/gitops hold incident in progress")
    assert HOLD_LABEL not in (await world.state_of(iid)).labels

    await world.approve("alice", iid)

    mr = await world.state_of(iid)
    assert mr.state == "opened" and HOLD_LABEL in mr.labels
    assert mr.head_pipeline["status"] == "success"
    assert await world.sync(world.merge_calls) == []
    (reply,) = await world.sync(lambda: answers_to(world, iid, note.id))
    assert "Held by `bob`: incident in progress." in reply


async def test_sweep_applies_a_lost_hold_once(world: World) -> None:
    """The sweep answers a hold whose webhook was lost; both approvals then
    merge nothing; later sweeps never answer it again; `status` says who held
    the MR and why; `unhold` merges it."""
    iid = await world.open_mr("v1.1.0", "production")
    note = await lost_comment(world, "bob", iid, "/gitops hold incident in progress")

    await world.sweep()
    assert HOLD_LABEL in (await world.state_of(iid)).labels
    await world.approve("bob", iid)
    await world.approve("alice", iid)
    await world.sweep()
    await world.sweep()

    assert (await world.state_of(iid)).state == "opened"
    assert await world.sync(world.merge_calls) == []
    assert len(await world.sync(lambda: answers_to(world, iid, note.id))) == 1
    status = await world.ask("alice", iid, "/gitops status")
    assert "`held`: held by `bob`: incident in progress; `unhold` lifts it" in status
    reply = await world.ask("alice", iid, "/gitops unhold")
    assert f"Hold lifted. Merged !{iid}." in reply


async def test_lost_merge_on_qa_merges_after_the_sweep(world: World) -> None:
    """qa merges only on a `merge` command: one whose webhook was lost merges
    the MR at the next sweep, with one reply saying so."""
    iid = await world.open_mr("v1.1.0", "qa")
    note = await lost_comment(world, "alice", iid, "/gitops merge")
    assert (await world.state_of(iid)).state == "opened"

    await world.sweep()

    assert (await world.state_of(iid)).state == "merged"
    (reply,) = await world.sync(lambda: answers_to(world, iid, note.id))
    assert reply.startswith(f"> `/gitops merge`\n\nMerged !{iid}.")


async def test_answered_notes_never_run_again(world: World) -> None:
    """A hold and its unhold, answered once each: sweeps never re-run either,
    even after the hold's note is edited (``updated_at`` past
    ``created_at``) to hold again, so the MR stays unheld and merges."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")
    hold = await world.comment("alice", iid, "/gitops hold flaky")
    await world.ask("alice", iid, "/gitops unhold")

    hold.body = "/gitops hold flaky\n/gitops hold again"
    await world.sync(hold.save)
    await world.settle()
    await world.sweep()
    await world.sweep()

    note = await world.sync(lambda: world.mr(iid).notes.get(hold.id))
    assert note.updated_at > note.created_at
    assert len(await world.sync(lambda: answers_to(world, iid, hold.id))) == 1
    assert HOLD_LABEL not in (await world.state_of(iid)).labels
    await world.set_result("pass")
    await world.comment("alice", iid, "/gitops retry")
    assert (await world.state_of(iid)).state == "merged"


async def test_commands_on_a_merged_mr_only_explain(world: World) -> None:
    """On a merged MR `hold` and `close` change nothing and say the MR is
    merged; `help` still answers; a lost `hold` there is answered the same
    way once another note's webhook comes."""
    iid = await world.open_mr("v1.1.0")
    assert (await world.state_of(iid)).state == "merged"

    reply = await world.ask("alice", iid, "/gitops hold\n/gitops close")
    assert f"Not done: !{iid} is merged; nothing to hold." in reply
    assert f"Not done: !{iid} is merged; nothing to close." in reply
    help_note = await world.comment("alice", iid, "/gitops help")
    (answer,) = await world.sync(lambda: answers_to(world, iid, help_note.id))
    assert "- `/gitops status`: explain what blocks the merge" in answer
    mr = await world.state_of(iid)
    assert mr.state == "merged" and HOLD_LABEL not in mr.labels

    note = await lost_comment(world, "bob", iid, "/gitops hold late")
    await world.comment("alice", iid, "/gitops status")
    (reply,) = await world.sync(lambda: answers_to(world, iid, note.id))
    assert f"Not done: !{iid} is merged; nothing to hold." in reply
    assert HOLD_LABEL not in (await world.state_of(iid)).labels


async def test_notes_listed_again_only_when_their_count_moves(world: World) -> None:
    """GitLab's ``user_notes_count`` (the offline GitLab's too) counts exactly
    the non-system notes: the bot's replies and people's notes, not a label
    change, less a deleted note. Once the notes are reconciled a sweep lists
    none; a hold whose webhook was lost moves the count, so the next sweep
    lists them and holds the merge request before both approvals come."""
    iid = await world.open_mr("v1.1.0", "production")
    await world.ask("alice", iid, "/gitops status")
    await world.add_label("alice", iid, "needs-review")
    gone = await world.comment("bob", iid, "typo")
    await world.sync(gone.delete)
    mr = await world.state_of(iid)
    notes = await world.sync(lambda: mr.notes.list(get_all=True))
    assert any(note.system for note in notes)
    assert mr.user_notes_count == len(await world.sync(lambda: world.notes(iid))) == 2

    await world.sweep()
    listed = "GET /projects/:id/merge_requests/:iid/notes"
    assert listed not in await sweep_calls(world)
    note = await lost_comment(world, "bob", iid, "/gitops hold incident")
    assert (await sweep_calls(world))[listed] == 1

    assert HOLD_LABEL in (await world.state_of(iid)).labels
    assert listed not in await sweep_calls(world)  # its own reply is counted
    await world.approve("bob", iid)
    await world.approve("alice", iid)
    assert (await world.state_of(iid)).state == "opened"
    assert len(await world.sync(lambda: answers_to(world, iid, note.id))) == 1


async def test_a_note_edited_into_a_command_runs_at_the_next_decision(
    world: World,
) -> None:
    """An edit leaves GitLab's note count alone, but its note event makes the
    next gate decision list the notes: a plain note edited into a hold is
    answered there (it was never answered), and the MR does not merge."""
    iid = await world.open_mr("v1.1.0", "production")
    plain = await world.comment("bob", iid, "checking the dashboards first")
    await world.sweep()

    plain.body = "/gitops hold dashboards look wrong"
    await world.sync(plain.save)
    await world.settle()
    await world.approve("bob", iid)
    await world.approve("alice", iid)

    mr = await world.state_of(iid)
    assert mr.state == "opened" and HOLD_LABEL in mr.labels
    (reply,) = await world.sync(lambda: answers_to(world, iid, plain.id))
    assert "Held by `bob`: dashboards look wrong." in reply


async def test_promote_after_the_merge(world: World) -> None:
    """`promote production` on the staging MR that merged opens the production
    MR with the same tag (the usual flow), with `status` and `help`; other
    commands there still answer that the MR is merged."""
    iid = await world.open_mr("v1.1.0")
    assert (await world.state_of(iid)).state == "merged"

    reply = await world.ask("maria", iid, "/gitops promote production")
    (promoted,) = await world.sync(lambda: world.merge_requests("production"))
    assert f"Promotion to production: opened in !{promoted.iid} (`v1.1.0`)." in reply
    assert promoted.state == "opened" and "v1.1.0" in promoted.title
    reply = await world.ask("maria", iid, "/gitops pin v1.0.0")
    assert f"Not done: !{iid} is merged; nothing to pin." in reply


async def test_promote_from_a_closed_mr(world: World) -> None:
    """A closed MR still names its image: `promote` deploys it to another
    environment; `unhold` there answers that the MR is closed."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")
    await world.ask("alice", iid, "/gitops close")
    assert (await world.state_of(iid)).state == "closed"

    reply = await world.ask("maria", iid, "/gitops unhold\n/gitops promote qa")
    assert f"Not done: !{iid} is closed; nothing to unhold." in reply
    (promoted,) = await world.sync(lambda: world.merge_requests("qa"))
    assert f"Promotion to qa: opened in !{promoted.iid} (`v1.1.0`)." in reply
    assert promoted.state == "opened"


async def sweep_calls(world: World) -> dict[str, int]:
    """The GitLab calls (by route) of one sweep."""
    await world.sync(world.control.clear_log)
    await world.sweep()
    return dict(await world.sync(world.control.calls))
