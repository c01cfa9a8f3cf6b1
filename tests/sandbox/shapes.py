"""Compare JSON bodies by keys and value types (not values)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OWN_SHAPES = Path(__file__).resolve().parent.parent / "data" / "sandbox"


def kind(value: Any) -> str:
    """Return the JSON type name of ``value`` (bool is not a number)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def shape_problems(actual: Any, expected: Any, where: str = "$") -> list[str]:
    """List every key of ``expected`` missing from ``actual`` or of another type.

    A null in ``expected`` accepts any value (the example does not say the
    type); extra keys in ``actual`` are allowed."""
    if expected is None:
        return []
    if kind(actual) != kind(expected):
        return [f"{where}: {kind(actual)} instead of {kind(expected)}"]
    problems: list[str] = []
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            else:
                problems += shape_problems(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list) and expected and actual:
        problems += shape_problems(actual[0], expected[0], f"{where}[0]")
    return problems


def load(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(path.read_text())
