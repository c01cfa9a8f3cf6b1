"""Persistence of the sandbox's typed records in one JSON file.

Records are plain mutable dataclasses whose fields hold JSON values. Each
table is registered with its record class; rows read from disk before the
class is registered wait as raw dictionaries until it is, so modules that
own a table may register it late (the merge-request part does).

A state file that cannot be read as such (not JSON, another shape, a row
without a required field) raises ``UnreadableState`` naming the file and
what is wrong; the file is left as it was.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import InvalidInput

R = TypeVar("R")

FORMAT_VERSION = 1


class UnreadableState(InvalidInput):
    """The state file is not one this store wrote; it is left untouched."""

    def __init__(self, path: Path | None, problem: str) -> None:
        """Name ``path`` and the ``problem``, and say how to go on."""
        super().__init__(
            f"{path} {problem}; the file was left as it is: fix it, or move it "
            "away to start with an empty sandbox"
        )


class Store:
    """Tables of dataclass records, saved atomically to ``path`` (or not at all)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._classes: dict[str, type] = {}
        self._tables: dict[str, dict[int, Any]] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._counters: dict[str, int] = {}
        if path is not None and path.exists():
            self._load(path)

    def register(self, table: str, cls: type) -> None:
        """Declare ``table`` as holding ``cls`` records; adopt rows loaded earlier."""
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"table {table!r}: {cls.__name__} is not a dataclass")
        self._classes[table] = cls
        rows = self._tables.setdefault(table, {})
        names = {field.name for field in dataclasses.fields(cls)}
        required = _required_fields(cls)
        for number, raw in enumerate(self._pending.pop(table, []), start=1):
            if problem := _row_problem(raw, required):
                where = f'row {number} of table "{table}"'
                raise UnreadableState(
                    self.path, f"is not a sandbox state: {where} {problem}"
                )
            known = {key: value for key, value in raw.items() if key in names}
            record = cls(**known)
            rows[record.id] = record

    def insert(self, table: str, record: R) -> R:
        """Add ``record``; give it the table's next id when its id is 0."""
        rows = self._table(table)
        if record.id == 0:  # type: ignore[attr-defined]
            record.id = self.next_id(f"table:{table}")  # type: ignore[attr-defined]
        else:
            self._counters[f"table:{table}"] = max(
                self._counters.get(f"table:{table}", 0),
                record.id,  # type: ignore[attr-defined]
            )
        rows[record.id] = record  # type: ignore[attr-defined]
        return record

    def get(self, table: str, id: int) -> Any | None:
        """Return the record of ``table`` with ``id``, or None."""
        return self._table(table).get(id)

    def rows(self, table: str) -> list[Any]:
        """Return every record of ``table`` in insertion order."""
        return list(self._table(table).values())

    def find(self, table: str, **match: Any) -> list[Any]:
        """Return the records of ``table`` whose fields equal ``match``."""
        return [
            row
            for row in self._table(table).values()
            if all(getattr(row, key) == value for key, value in match.items())
        ]

    def delete(self, table: str, id: int) -> None:
        """Remove the record ``id`` from ``table`` (no error when absent)."""
        self._table(table).pop(id, None)

    def next_id(self, counter: str) -> int:
        """Increment and return the named counter (starts at 1)."""
        value = self._counters.get(counter, 0) + 1
        self._counters[counter] = value
        return value

    def save(self) -> None:
        """Write every table to ``path`` atomically (no-op without a path)."""
        if self.path is None:
            return
        document = {
            "version": FORMAT_VERSION,
            "counters": self._counters,
            "tables": {
                table: [dataclasses.asdict(row) for row in rows.values()]
                for table, rows in self._tables.items()
            },
        }
        for table, raws in self._pending.items():
            document["tables"][table] = raws
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(document, separators=(",", ":")))
        os.replace(temporary, self.path)

    def _table(self, table: str) -> dict[int, Any]:
        if table not in self._classes:
            raise KeyError(f"table {table!r} is not registered")
        return self._tables[table]

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            problem = f"cannot be read: {error.strerror or error}"
            raise UnreadableState(path, problem) from error
        except UnicodeDecodeError:
            raise UnreadableState(path, "is not UTF-8 text") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise UnreadableState(
                path,
                f"is not valid JSON: {error.msg} at line {error.lineno} "
                f"column {error.colno}",
            ) from None
        except RecursionError:  # the C decoder recurses once per level
            raise UnreadableState(path, "nests too deeply to be read") from None
        problem = _shape_problem(document)
        if problem is not None:
            raise UnreadableState(path, f"is not a sandbox state: {problem}")
        self._counters = dict(document["counters"])
        self._pending = {
            table: list(rows) for table, rows in document["tables"].items()
        }


def _shape_problem(document: Any) -> str | None:
    """What keeps ``document`` from being a saved state, or None."""
    if not isinstance(document, dict):
        return f"expected a JSON object, found {_json_type(document)}"
    version = document.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        return f"format version {version!r}, this sandbox reads {FORMAT_VERSION}"
    counters, tables = document.get("counters"), document.get("tables")
    if not isinstance(counters, dict) or not all(
        isinstance(value, int) for value in counters.values()
    ):
        return '"counters" must be an object of integers'
    if not isinstance(tables, dict):
        return '"tables" must be an object of lists'
    for table, rows in tables.items():
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            return f'"tables.{table}" must be a list of objects'
    return None


def _row_problem(raw: dict[str, Any], required: list[str]) -> str | None:
    """What keeps the saved row ``raw`` from becoming a record, or None."""
    if missing := [name for name in required if name not in raw]:
        return f"lacks {', '.join(missing)}"
    if not isinstance(raw.get("id"), int):
        return "has an id that is not an integer"
    return None


def _json_type(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _required_fields(cls: type) -> list[str]:
    """The fields of dataclass ``cls`` without a default."""
    return [
        field.name
        for field in dataclasses.fields(cls)
        if field.default is dataclasses.MISSING
        and field.default_factory is dataclasses.MISSING
    ]
