"""Comment commands end to end: failure and retry, hold, refusals, replays."""

from __future__ import annotations

import aiohttp

from bot.chatops.handlers import DONE_EMOJI
from bot.gate.execute import FAILED_LABEL
from bot.server import keys
from tests.e2e.conftest import WEBHOOK_SECRET, World


async def test_failure_labelled_once_then_retry_merges(world: World) -> None:
    """A failed pipeline labels the MR and comments once (even when its webhook
    is replayed); `/gitops retry` reruns it; once it passes the label goes and
    the MR merges."""
    iid = (await world.deploy("v1.1.0"))["merge_request"]["iid"]
    pipeline = await world.finish_pipeline(iid, "failed", {"unit": "failed"})
    record = world.sandbox.state.store.get("projects", world.project.id)
    world.sandbox.run(world.sandbox.state.e2e_pipelines.emit(record, pipeline))
    await world.settle()

    mr = await world.sync(lambda: world.mr(iid))
    assert FAILED_LABEL in mr.labels and mr.state == "opened"
    failures = [b for b in await world.sync(lambda: world.bot_notes(iid))
                if "failed for" in b]  # fmt: skip
    assert len(failures) == 1 and "`unit`" in failures[0]

    await world.comment("alice", iid, "/gitops retry")
    replies = await world.sync(lambda: world.bot_notes(iid))
    assert "Retrying the failed jobs" in replies[-1]
    await world.finish_pipeline(iid, "success", {"unit": "success"})

    mr = await world.sync(lambda: world.mr(iid))
    assert mr.state == "merged" and FAILED_LABEL not in mr.labels


async def test_hold_blocks_until_unhold(world: World) -> None:
    """`/gitops hold` keeps a passing MR open; `/gitops unhold` merges it."""
    iid = (await world.deploy("v1.1.0"))["merge_request"]["iid"]
    await world.comment("alice", iid, "/gitops hold waiting for the DB migration")
    await world.finish_pipeline(iid, "success")

    mr = await world.sync(lambda: world.mr(iid))
    assert mr.state == "opened" and "gitops::hold" in mr.labels
    await world.comment("alice", iid, "/gitops status")
    assert "`held`" in (await world.sync(lambda: world.bot_notes(iid)))[-1]

    await world.comment("alice", iid, "/gitops unhold")
    assert (await world.sync(lambda: world.mr(iid))).state == "merged"


async def test_outsider_refused_and_nothing_changes(world: World) -> None:
    """A guest's `hold` is refused with a reply naming who lacks what; no
    label is added and the MR still merges."""
    iid = (await world.deploy("v1.1.0"))["merge_request"]["iid"]
    before = await world.sync(lambda: world.mr(iid))
    await world.comment("eve", iid, "/gitops hold")

    replies = await world.sync(lambda: world.bot_notes(iid))
    assert "@eve has Guest access; `hold` on staging needs Developer" in replies[-1]
    assert "Nothing was done" in replies[-1]
    after = await world.sync(lambda: world.mr(iid))
    assert after.labels == before.labels

    await world.finish_pipeline(iid, "success")
    assert (await world.sync(lambda: world.mr(iid))).state == "merged"


async def test_edited_note_and_replays_run_once(world: World) -> None:
    """A command runs once: an edit does not re-run it, and its award emoji is
    the done mark; the bot never answers its own reply."""
    iid = (await world.deploy("v1.1.0"))["merge_request"]["iid"]
    note = await world.comment("alice", iid, "/gitops status")
    count = len(await world.sync(lambda: world.bot_notes(iid)))

    note.body = "/gitops status\n/gitops hold"
    await world.sync(note.save)
    await world.settle()

    assert len(await world.sync(lambda: world.bot_notes(iid))) == count == 1
    mr = await world.sync(lambda: world.mr(iid))
    assert "gitops::hold" not in mr.labels
    awards = await world.sync(lambda: mr.notes.get(note.id).awardemojis.list())
    assert [award.name for award in awards] == [DONE_EMOJI]


async def test_forged_secret_401_nothing_done(world: World) -> None:
    """A note webhook with a wrong secret is refused 401 and runs nothing."""
    iid = (await world.deploy("v1.1.0"))["merge_request"]["iid"]
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
    assert (await world.sync(lambda: world.mr(iid))).state == "opened"
    assert await world.sync(lambda: world.bot_notes(iid)) == []


async def test_shell_metacharacters_stay_text(world: World) -> None:
    """Arguments never reach a shell: a hold reason full of shell syntax is
    stored and echoed as inert text."""
    iid = (await world.deploy("v1.1.0"))["merge_request"]["iid"]
    await world.comment(
        "alice", iid, "/gitops hold $(touch /tmp/pwned); `id` | rm -rf /"
    )

    reply = (await world.sync(lambda: world.bot_notes(iid)))[-1]
    assert "Held by" in reply and "touch /tmp/pwned" in reply
    assert "gitops::hold" in (await world.sync(lambda: world.mr(iid))).labels


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
