"""Persistence of the sandbox's typed records in one JSON file.

Records are plain mutable dataclasses whose fields hold JSON values. Each
table is registered with its record class; rows read from disk before the
class is registered wait as raw dictionaries until it is, so modules that
own a table may register it late (the merge-request part does).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, TypeVar

R = TypeVar("R")

FORMAT_VERSION = 1


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
        for raw in self._pending.pop(table, []):
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
        document = json.loads(path.read_text())
        self._counters = {k: int(v) for k, v in document["counters"].items()}
        self._pending = {
            table: list(rows) for table, rows in document["tables"].items()
        }
