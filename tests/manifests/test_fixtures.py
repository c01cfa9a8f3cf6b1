"""Every editor and fidelity point, on our own fixtures (tests/data/manifests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.errors import InvalidInput
from bot.manifests import edit, find_current
from tests.manifests.cases import CASES, Case
from tests.manifests.expect import expected_text

DATA = Path(__file__).resolve().parent.parent / "data" / "manifests"


def read(case: Case) -> str:
    """Return the fixture's text exactly as stored (line endings kept)."""
    return (DATA / case.file).read_bytes().decode("utf-8")


CHANGES = [case for case in CASES if case.refuse is None]
REFUSALS = [case for case in CASES if case.refuse is not None]


@pytest.mark.parametrize("case", CHANGES, ids=lambda case: case.id)
def test_edit_changes_only_the_spelled_out_lines(case: Case) -> None:
    """The output equals the input with exactly the case's edits applied."""
    original = read(case)

    result = edit(original, case.file, case.target, **case.request())

    assert result.text == expected_text(original, case.edits)
    assert result.changed == bool(case.edits)
    assert result.original == original


@pytest.mark.parametrize("case", CHANGES, ids=lambda case: case.id)
def test_edit_twice_equals_once(case: Case) -> None:
    """Applying the same request to its own output changes nothing more."""
    once = edit(read(case), case.file, case.target, **case.request())

    twice = edit(once.text, case.file, case.target, **case.request())

    assert twice.text == once.text
    assert not twice.changed
    assert twice.changes == ()


@pytest.mark.parametrize("case", CHANGES, ids=lambda case: case.id)
def test_edit_result_still_parses(case: Case) -> None:
    """Every output is YAML that loads, document by document."""
    result = edit(read(case), case.file, case.target, **case.request())

    list(YAML(typ="rt").load_all(result.text.lstrip("\ufeff")))


@pytest.mark.parametrize("case", REFUSALS, ids=lambda case: case.id)
def test_refusal_names_the_problem(case: Case) -> None:
    """Each refusal raises InvalidInput with a message saying what and where."""
    with pytest.raises(InvalidInput, match=re.escape(case.refuse or "")):
        edit(read(case), case.file, case.target, **case.request())


@pytest.mark.parametrize("case", CHANGES, ids=lambda case: case.id)
def test_changes_report_each_line_and_value(case: Case) -> None:
    """The change list names every changed, added or removed input line."""
    result = edit(read(case), case.file, case.target, **case.request())

    reported = {change.line for change in result.changes}
    expected = {e.line if hasattr(e, "line") else e.after + 1 for e in case.edits}
    assert reported == expected
    assert all(change.path == case.file for change in result.changes)


@pytest.mark.parametrize("case", CHANGES, ids=lambda case: case.id)
def test_find_current_agrees_with_the_edit(case: Case) -> None:
    """After an edit, find_current reports the requested tag and digest."""
    result = edit(read(case), case.file, case.target, **case.request())

    current = find_current(result.text, case.file, case.target)

    assert current
    if case.tag:
        assert case.tag in {image.tag for image in current}
    if case.digest and not case.notes:
        assert case.digest in {image.digest for image in current}


@pytest.mark.parametrize("case", CHANGES, ids=lambda case: case.id)
def test_notes_name_what_was_not_written(case: Case) -> None:
    """An edit notes exactly the case's notes: what it could not write, and why."""
    result = edit(read(case), case.file, case.target, **case.request())

    assert result.notes == case.notes
