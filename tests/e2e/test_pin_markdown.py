"""A pin reason is someone's free text: notes that quote it keep it inert,
so `<!--` in it cannot hide the rest of the note, nor markup render."""

from __future__ import annotations

from tests.e2e.build import MakeWorld


async def test_a_refused_promotion_note_keeps_the_pin_reason_inert(
    make_world: MakeWorld,
) -> None:
    """The auto promotion refused by a pin whose reason holds `<!--` and HTML:
    the note on the staging MR shows the reason escaped and still ends with
    how to lift the pin."""
    world = await make_world(auto_promote=True)
    production = await world.open_mr("v2.0.0", "production")
    reason = "visible <!-- hidden <b>tail</b>"
    await world.comment("maria", production, f"/gitops pin v1.0.0 {reason}")

    staging = (await world.deploy("v3.0.0"))["merge_request"]["iid"]

    notes = await world.sync(lambda: world.bot_notes(staging))
    assert notes == [
        "Promotion to production refused: web in production is pinned to "
        r"`v1.0.0` by maria: visible \<\!-- hidden \<b\>tail\</b\> "
        f"(in !{production}); to lift it, comment `/gitops unpin` on "
        f"!{production}, or deploy with force"
    ]
