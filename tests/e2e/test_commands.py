"""Comment commands end to end: failure and retry, hold, refusals, replays."""

from __future__ import annotations

import aiohttp

from bot.chatops.handlers import DONE_EMOJI
from bot.gate.execute import FAILED_LABEL
from bot.server import keys
from tests.e2e.build import WEBHOOK_SECRET
from tests.e2e.world import World

HOLD = "gitops::hold"


async def test_failure_labelled_once_then_retry_merges(world: World) -> None:
    """A failed integration-test labels the MR and comments once, even with
    every webhook delivered twice; `/gitops retry` retries the failed job for
    real; once it passes the label goes and the MR merges."""
    world.control.inject(webhooks="duplicate", count=500)
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")

    mr = await world.state_of(iid)
    assert FAILED_LABEL in mr.labels and mr.state == "opened"
    (failure,) = await world.sync(lambda: world.bot_notes(iid))
    assert "failed for" in failure and "(failed: `integration-test`)" in failure

    await world.set_result("pass")
    reply = await world.ask("alice", iid, "/gitops retry")
    (pipeline,) = await world.sync(lambda: world.pipelines(iid))
    assert f"Retrying the failed jobs of pipeline #\u200b{pipeline.id}." in reply
    assert await world.sync(lambda: world.jobs(pipeline.id)) == [
        ("integration-test", "failed"),
        ("integration-test", "success"),
    ]
    mr = await world.state_of(iid)
    assert mr.state == "merged" and FAILED_LABEL not in mr.labels
    assert len(await world.sync(lambda: world.bot_notes(iid))) == 2


async def test_hold_blocks_until_unhold(world: World) -> None:
    """`/gitops hold` keeps an MR whose pipeline passed open; `status` names
    the hold, who put it on and why; `/gitops unhold` merges it."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")
    reply = await world.ask("alice", iid, "/gitops hold waiting for the DB migration")
    assert "Held by `alice`: waiting for the DB migration." in reply

    await world.set_result("pass")
    await world.comment("alice", iid, "/gitops retry")
    mr = await world.state_of(iid)
    assert mr.state == "opened" and HOLD in mr.labels
    assert mr.head_pipeline["status"] == "success"
    status = await world.ask("alice", iid, "/gitops status")
    assert (
        "`held`: held by `alice`: waiting for the DB migration; `unhold` lifts it"
        in status
    )

    reply = await world.ask("alice", iid, "/gitops unhold")
    assert f"Hold lifted. Merged !{iid}." in reply
    assert (await world.state_of(iid)).state == "merged"


async def test_outsider_refused_and_nothing_changes(world: World) -> None:
    """A guest's `hold` is refused with a reply naming who lacks what; no
    label is added and the MR still merges once its pipeline passes."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")
    before = await world.state_of(iid)
    reply = await world.ask("eve", iid, "/gitops hold")

    assert "@eve has Guest access; `hold` on staging needs Developer" in reply
    assert "Nothing was done" in reply
    assert (await world.state_of(iid)).labels == before.labels

    await world.set_result("pass")
    await world.comment("alice", iid, "/gitops retry")
    assert (await world.state_of(iid)).state == "merged"


async def test_edited_note_and_replays_run_once(world: World) -> None:
    """A command runs once: an edit does not re-run it, and its award emoji is
    the done mark; the bot never answers its own reply."""
    iid = await world.open_mr("v1.1.0", "production")
    note = await world.comment("alice", iid, "/gitops status")
    count = len(await world.sync(lambda: world.bot_notes(iid)))

    note.body = "/gitops status\n/gitops hold"
    await world.sync(note.save)
    await world.settle()

    assert len(await world.sync(lambda: world.bot_notes(iid))) == count == 1
    mr = await world.state_of(iid)
    assert HOLD not in mr.labels
    awards = await world.sync(lambda: mr.notes.get(note.id).awardemojis.list())
    assert [award.name for award in awards] == [DONE_EMOJI]


async def test_forged_secret_401_nothing_done(world: World) -> None:
    """A note webhook with a wrong secret is refused 401 and runs nothing."""
    iid = await world.open_mr("v1.1.0", "production")
    payload = {
        "object_kind": "note",
        "project": {"path_with_namespace": "root/gitops"},
        "user": {"id": 99, "username": "alice"},
        "object_attributes": {"id": 1, "note": "/gitops close",
                              "noteable_type": "MergeRequest", "action": "create"},
        "merge_request": {"iid": iid},
    }  # fmt: skip
    async with aiohttp.ClientSession() as session:
        answer = await session.post(
            f"{world.bot_url}/webhooks/gitlab",
            json=payload,
            headers={
                "X-Gitlab-Token": WEBHOOK_SECRET + "x",
                "X-Gitlab-Event": "Note Hook",
            },
        )
        assert answer.status == 401
    await world.settle()
    assert (await world.state_of(iid)).state == "opened"
    assert await world.sync(lambda: world.bot_notes(iid)) == []


async def test_shell_metacharacters_stay_text(world: World) -> None:
    """Arguments never reach a shell: a hold reason full of shell syntax is
    stored and echoed as inert text."""
    iid = await world.open_mr("v1.1.0", "production")
    reply = await world.ask(
        "alice", iid, "/gitops hold $(touch /tmp/pwned); `id` | rm -rf /"
    )

    assert "Held by `alice`" in reply and "touch /tmp/pwned" in reply
    assert HOLD in (await world.state_of(iid)).labels


async def test_note_on_an_issue_is_ignored_without_a_crash(world: World) -> None:
    """A command in a note on an issue is acknowledged and ignored: no handler
    error, no reply anywhere."""
    payload = {
        "object_kind": "note",
        "project": {"path_with_namespace": "root/gitops"},
        "user": {"id": 2, "username": "alice"},
        "object_attributes": {"id": 77, "note": "/gitops close",
                              "noteable_type": "Issue", "action": "create"},
        "issue": {"iid": 1},
    }  # fmt: skip
    async with aiohttp.ClientSession() as session:
        answer = await session.post(
            f"{world.bot_url}/webhooks/gitlab",
            json=payload,
            headers={"X-Gitlab-Token": WEBHOOK_SECRET, "X-Gitlab-Event": "Note Hook"},
        )
        assert answer.status in (200, 202)
    await world.settle()
    metrics = world.bot_app[keys.METRICS]
    assert metrics.handler_errors.labels("note")._value.get() == 0


async def test_help_follows_the_documented_minimum(world: World) -> None:
    """README gives `help` a minimum of reporter: a guest's `help` is refused
    like any command (nothing listed, the note marked refused), while a
    developer gets the list."""
    iid = await world.open_mr("v1.1.0", "production")

    refused = await world.ask("eve", iid, "/gitops help")
    await world.comment("alice", iid, "/gitops help")

    assert refused == (
        "> `/gitops help`\n\n@eve has Guest access; `help` on production needs "
        "Reporter. Nothing was done."
    )
    *_, listed = await world.sync(lambda: world.bot_notes(iid))
    assert listed.startswith("Commands (one per line")
    assert sum("Commands (one per line" in note for note in
               await world.sync(lambda: world.bot_notes(iid))) == 1  # fmt: skip
    assert (await world.state_of(iid)).state == "opened"


async def test_status_after_hold_in_the_same_note_names_the_holder(
    world: World,
) -> None:
    """`status` on the line after `hold` names who held it and why, as a
    later `status` does; the hold stays and nothing merges."""
    await world.set_result("fail")
    iid = await world.open_mr("v1.1.0")

    reply = await world.ask("alice", iid, "/gitops hold migration\n/gitops status")

    assert "`held`: held by `alice`: migration; `unhold` lifts it" in reply, reply
    later = await world.ask("bob", iid, "/gitops status")
    assert "`held`: held by `alice`: migration; `unhold` lifts it" in later
    mr = await world.state_of(iid)
    assert mr.state == "opened" and HOLD in mr.labels
