"""The JSON store: ids, tables, atomic saves, late registration."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.sandbox.store import Store


@dataclass
class Thing:
    """A record for the tests."""

    id: int
    name: str
    tags: list[str] = field(default_factory=list)


@dataclass
class Later:
    """A record registered after loading."""

    id: int
    value: int


def test_insert_assigns_ids_in_order(tmp_path) -> None:
    """Records with id 0 get 1, 2, ...; rows come back in insertion order."""
    store = Store(tmp_path / "s.json")
    store.register("things", Thing)

    first = store.insert("things", Thing(0, "a"))
    second = store.insert("things", Thing(0, "b"))

    assert (first.id, second.id) == (1, 2)
    assert [t.name for t in store.rows("things")] == ["a", "b"]
    assert store.find("things", name="b") == [second]


def test_save_and_reload_round_trips(tmp_path) -> None:
    """Saved records and counters load back; ids continue after a reload."""
    store = Store(tmp_path / "s.json")
    store.register("things", Thing)
    store.insert("things", Thing(0, "a", ["x"]))
    store.next_id("mr:1")
    store.save()

    again = Store(tmp_path / "s.json")
    again.register("things", Thing)

    assert again.get("things", 1) == Thing(1, "a", ["x"])
    assert again.insert("things", Thing(0, "b")).id == 2
    assert again.next_id("mr:1") == 2


def test_late_registration_keeps_unregistered_rows(tmp_path) -> None:
    """Rows of a table registered after loading are adopted, and kept if never."""
    store = Store(tmp_path / "s.json")
    store.register("later", Later)
    store.register("other", Later)
    store.insert("later", Later(0, 7))
    store.insert("other", Later(0, 8))
    store.save()

    reloaded = Store(tmp_path / "s.json")
    reloaded.register("later", Later)
    reloaded.save()
    final = Store(tmp_path / "s.json")
    final.register("other", Later)

    assert reloaded.get("later", 1) == Later(1, 7)
    assert final.get("other", 1) == Later(1, 8)


def test_unregistered_table_is_an_error() -> None:
    """Using a table nobody registered raises KeyError naming it."""
    with pytest.raises(KeyError, match="nope"):
        Store().rows("nope")


def test_delete_and_missing_rows(tmp_path) -> None:
    """delete removes a row; get of a missing id is None."""
    store = Store()
    store.register("things", Thing)
    store.insert("things", Thing(0, "a"))

    store.delete("things", 1)

    assert store.get("things", 1) is None
    assert store.rows("things") == []


def test_save_leaves_no_temporary_file(tmp_path) -> None:
    """The atomic save replaces the file and leaves no .tmp behind."""
    store = Store(tmp_path / "s.json")
    store.register("things", Thing)
    store.insert("things", Thing(0, "a"))

    store.save()

    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]
