"""Every row of ../shared/corpus/CASES.tsv, run through ``gitops-bot bump``."""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import CORPUS, require_shared

pytestmark = pytest.mark.corpus

KIND_FLAGS = {
    "kustomize": "kustomize",
    "helm": "helm",
    "manifest": "manifest",
    "argocd-app": "argocd",
    "flux-setter": "flux",
}


@dataclass(frozen=True)
class Row:
    """One corpus case as the README maps it onto ``bump`` flags."""

    case_id: str
    file: str
    kind: str
    target: str
    new_tag: str
    new_digest: str
    expected_note: str

    @property
    def outcome(self) -> str:
        """``change``, ``no-op`` or ``refuse``, from the note's first word."""
        return self.expected_note.split(":")[0].split(" ")[0]

    def argv(self, path: Path) -> list[str]:
        """Return the ``bump`` command line for this row on ``path``."""
        kind = KIND_FLAGS[self.kind]
        argv = ["bump", str(path), "--kind", kind, self._target_flag(kind), self.target]
        if self.new_tag:
            argv += ["--tag", self.new_tag]
        if self.new_digest:
            argv += ["--digest", self.new_digest]
        return argv

    def _target_flag(self, kind: str) -> str:
        if kind == "helm":
            return "--key"
        if kind == "flux":
            return "--policy"
        is_parameter = "." in self.target and "/" not in self.target
        return "--key" if kind == "argocd" and is_parameter else "--image"


def load_rows() -> list[object]:
    """Return the rows as test parameters, or one placeholder that skips."""
    table = CORPUS / "CASES.tsv"
    if not table.exists():
        return [pytest.param(None, id="corpus-absent")]
    with table.open(encoding="utf-8", newline="") as handle:
        rows = [Row(**row) for row in csv.DictReader(handle, delimiter="\t")]
    return [pytest.param(row, id=row.case_id) for row in rows]


def copy_input(row: Row, tmp_path: Path) -> Path:
    """Copy the row's input under its own file name (kind detection uses it)."""
    source = require_shared(CORPUS) / row.file
    target = tmp_path / Path(row.file).name
    shutil.copyfile(source, target)
    return target


@pytest.mark.parametrize("row", load_rows())
def test_corpus_case_with_stdout(row: Row | None, tmp_path: Path, capsys) -> None:
    """--stdout prints the expected file; refusals exit 2; the input is untouched."""
    require_shared(CORPUS)
    assert row is not None
    path = copy_input(row, tmp_path)
    before = path.read_bytes()

    status = main([*row.argv(path), "--stdout"])
    out, err = capsys.readouterr()

    assert path.read_bytes() == before
    if row.outcome == "refuse":
        assert status == 2
        assert out == ""
        assert err.startswith("gitops-bot bump: ") and err.count("\n") == 1
        return
    expected = (CORPUS / "expected" / f"{row.case_id}.yaml").read_bytes()
    assert status == 0
    assert out.encode("utf-8") == expected
    assert ("unchanged" in err) == (row.outcome == "no-op")


@pytest.mark.parametrize("row", load_rows())
def test_corpus_case_in_place(row: Row | None, tmp_path: Path, capsys) -> None:
    """Without --stdout the file itself becomes the expected output."""
    require_shared(CORPUS)
    assert row is not None
    path = copy_input(row, tmp_path)
    before = path.read_bytes()

    status = main(row.argv(path))
    capsys.readouterr()

    if row.outcome == "refuse":
        assert (status, path.read_bytes()) == (2, before)
        return
    expected = (CORPUS / "expected" / f"{row.case_id}.yaml").read_bytes()
    assert (status, path.read_bytes()) == (0, expected)
