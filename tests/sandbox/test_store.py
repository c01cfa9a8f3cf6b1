"""The JSON store: ids, tables, atomic saves, late registration."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.sandbox.store import Store, UnreadableState


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


SAVED_ROW = '{"version": 1, "counters": {}, "tables": {"things": [%s]}}'


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "is not valid JSON: Expecting property name enclosed in "
         "double quotes at line 1 column 2"),
        (b"", "is not valid JSON: Expecting value at line 1 column 1"),
        (b"\xff\xfe", "is not UTF-8 text"),
        (b"[]", "is not a sandbox state: expected a JSON object, found a list"),
        (b'{"version": 2, "counters": {}, "tables": {}}',
         "is not a sandbox state: format version 2, this sandbox reads 1"),
        (b'{"version": 1, "tables": {}}',
         'is not a sandbox state: "counters" must be an object of integers'),
        (b'{"version": 1, "counters": {"a": "x"}, "tables": {}}',
         'is not a sandbox state: "counters" must be an object of integers'),
        (b'{"version": 1, "counters": {}, "tables": []}',
         'is not a sandbox state: "tables" must be an object of lists'),
        (b'{"version": 1, "counters": {}, "tables": {"things": [1]}}',
         'is not a sandbox state: "tables.things" must be a list of objects'),
        (b"[" * 100_000, "nests too deeply to be read"),
    ],
)  # fmt: skip
def test_an_unreadable_state_file_is_refused_and_left_alone(
    tmp_path, content: bytes, problem: str
) -> None:
    """A state file the store did not write raises UnreadableState naming the
    file and the problem; the file keeps its bytes."""
    path = tmp_path / "s.json"
    path.write_bytes(content)

    with pytest.raises(UnreadableState) as raised:
        Store(path)

    assert str(raised.value) == (
        f"{path} {problem}; the file was left as it is: fix it, or move it away "
        "to start with an empty sandbox"
    )
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ('{"id": 1}', 'row 1 of table "things" lacks name'),
        ('{"name": "a"}', 'row 1 of table "things" lacks id'),
        ('{"id": "1", "name": "a"}',
         'row 1 of table "things" has an id that is not an integer'),
    ],
)  # fmt: skip
def test_a_saved_row_without_its_fields_is_refused_on_registration(
    tmp_path, row: str, problem: str
) -> None:
    """A row lacking a required field (or with a non-integer id) is refused
    when its table is registered, naming the row, the table and the field."""
    path = tmp_path / "s.json"
    path.write_text(SAVED_ROW % row)
    store = Store(path)

    with pytest.raises(UnreadableState, match=f"is not a sandbox state: {problem};"):
        store.register("things", Thing)

    assert path.read_text() == SAVED_ROW % row
