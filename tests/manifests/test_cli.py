"""``gitops-bot bump``: in place or --stdout, summaries, exit statuses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import ROOT
from tests.manifests.cases import API, CASES, D1, Case
from tests.manifests.expect import expected_text
from tests.manifests.test_fixtures import DATA

VALUES = DATA / "helm" / "values.yaml"


def argv_for(case: Case, path: Path) -> list[str]:
    """Return the ``bump`` command line that makes the case's request."""
    target = case.target
    argv = ["bump", str(path)]
    if target.kind != "auto":
        argv += ["--kind", target.kind]
    for flag, value in (("--image", target.image), ("--key", target.key)):
        if value:
            argv += [flag, value]
    if target.policy:
        argv += ["--policy", target.policy]
    if case.tag is not None:
        argv.append(f"--tag={case.tag}")
    if case.digest is not None:
        argv += ["--digest", case.digest]
    if case.new_name is not None:
        argv.append(f"--new-name={case.new_name}")
    return argv


def copy_fixture(source: Path, tmp_path: Path) -> Path:
    """Copy a fixture into ``tmp_path`` under its own name."""
    target = tmp_path / source.name
    shutil.copyfile(source, target)
    return target


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bump_edits_in_place_or_refuses(case: Case, tmp_path: Path, capsys) -> None:
    """Changes land in the file; refusals exit 2 with one line, file untouched."""
    path = copy_fixture(DATA / case.file, tmp_path)
    before = path.read_bytes()

    status = main(argv_for(case, path))
    err = capsys.readouterr().err

    if case.refuse is not None:
        assert status == 2
        assert err.startswith("gitops-bot bump: ") and case.refuse in err
        assert err.count("\n") == 1
        assert path.read_bytes() == before
        return
    assert status == 0
    expected = expected_text(before.decode("utf-8"), case.edits)
    assert path.read_bytes() == expected.encode("utf-8")
    assert ("unchanged (already current)" in err) == (not case.edits)


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("v 1", "' ' at position 1 is not allowed"),
        ("v1\nx", "'\\n' at position 2 is not allowed"),
        ("../etc", "'.' at position 0 is not allowed"),
        ("a/b", "'/' at position 1 is not allowed"),
        ("repo:v1", "':' at position 4 is not allowed"),
        ("v6+build.1", "'+' at position 2 is not allowed"),
        ("-rc1", "'-' at position 0 is not allowed"),
        ("x" * 129, "tag is 129 characters long; at most 128 allowed"),
        ("", "tag is empty"),
    ],
)
def test_bad_tag_is_refused(tag: str, message: str, tmp_path: Path, capsys) -> None:
    """A tag outside the OCI grammar exits 2, says why, and writes nothing."""
    path = copy_fixture(VALUES, tmp_path)
    before = path.read_bytes()

    status = main(["bump", str(path), "--key", "image.tag", f"--tag={tag}"])

    assert status == 2
    assert message in capsys.readouterr().err
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("sha256:abc", "sha256 needs exactly 64 lowercase hex digits, got 3"),
        ("sha256:" + "A" * 64, "needs exactly 64 lowercase hex digits"),
        ("sha256:" + "g" * 64, "needs exactly 64 lowercase hex digits"),
        ("md5:" + "a" * 32, "uses algorithm 'md5'"),
        ("a" * 64, "is not of the form algorithm:hex"),
        ("sha256:", "is not of the form algorithm:hex"),
    ],
)
def test_bad_digest_is_refused(
    digest: str, message: str, tmp_path: Path, capsys
) -> None:
    """A digest that is not algorithm:hex exits 2, says why, and writes nothing."""
    path = copy_fixture(VALUES, tmp_path)
    before = path.read_bytes()

    status = main(["bump", str(path), "--key", "image.digest", "--digest", digest])

    assert status == 2
    assert message in capsys.readouterr().err
    assert path.read_bytes() == before


def test_missing_file_is_refused(tmp_path: Path, capsys) -> None:
    """A file that does not exist exits 2 naming it."""
    path = tmp_path / "absent.yaml"

    status = main(["bump", str(path), "--key", "image.tag", "--tag", "v1"])

    assert status == 2
    assert f"{path}: no such file" in capsys.readouterr().err
    assert not path.exists()


def test_directory_and_non_utf8_are_refused(tmp_path: Path, capsys) -> None:
    """A directory or a file that is not UTF-8 exits 2 with the reason."""
    binary = tmp_path / "values.yaml"
    binary.write_bytes(b"image:\n  tag: \xff\n")

    assert main(["bump", str(tmp_path), "--key", "a", "--tag", "v1"]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["bump", str(binary), "--key", "image.tag", "--tag", "v1"]) == 2
    assert capsys.readouterr().err.endswith(
        f"{binary}: not UTF-8 text (byte 0xff at offset 14, line 2)\n"
    )
    assert binary.read_bytes() == b"image:\n  tag: \xff\n"


def test_nothing_to_set_is_refused(tmp_path: Path, capsys) -> None:
    """Neither --tag nor --digest exits 2."""
    path = copy_fixture(VALUES, tmp_path)

    assert main(["bump", str(path), "--key", "image.tag"]) == 2
    assert "nothing to set" in capsys.readouterr().err


def test_stdout_prints_and_leaves_the_file(tmp_path: Path, capsys) -> None:
    """--stdout prints the new text, the summary goes to stderr, FILE is kept."""
    path = copy_fixture(VALUES, tmp_path)
    before = path.read_bytes()

    status = main(["bump", str(path), "--key", "image.tag", "--tag", "2.0", "--stdout"])
    out, err = capsys.readouterr()

    assert status == 0
    assert path.read_bytes() == before
    assert out == before.decode("utf-8").replace('tag: "1.9"', 'tag: "2.0"', 1)
    assert err == f"{path}: changed\n  line 8: 1.9 -> 2.0\n"


def test_in_place_write_keeps_mode_and_leaves_no_temporary(
    tmp_path: Path, capsys
) -> None:
    """The atomic write keeps the file's permission bits and cleans up."""
    path = copy_fixture(VALUES, tmp_path)
    os.chmod(path, 0o640)

    status = main(["bump", str(path), "--key", "image", "--tag", "2.0", "--digest", D1])

    assert status == 0
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["values.yaml"]
    assert f'line 9: "" -> {D1}' in capsys.readouterr().err


def test_python_dash_m_bot_bump(tmp_path: Path) -> None:
    """``python -m bot bump`` runs end to end in a fresh interpreter."""
    path = copy_fixture(VALUES, tmp_path)

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "bump",
            str(path),
            "--key",
            "image.tag",
            "--tag",
            "1.10",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert 'tag: "1.10"' in path.read_text(encoding="utf-8")
    assert "line 8: 1.9 -> 1.10" in done.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], "one of the arguments --image --key --policy is required"),
        (
            ["--key", "image.tag", "--policy", "flux-system:app"],
            "argument --policy: not allowed with argument --key (only --image "
            "and --key go together, for Helm values)",
        ),
        (
            ["--image", "shop/api", "--policy", "flux-system:app"],
            "argument --policy: not allowed with argument --image",
        ),
        (
            ["--kind", "manifest", "--key", "image.tag", "--image", "shop/api"],
            "argument --image: not allowed with argument --key for --kind manifest "
            "(together they check the repository of a Helm value)",
        ),
    ],
)
def test_target_flags_are_checked_by_the_parser(
    flags: list[str], message: str, tmp_path: Path, capsys
) -> None:
    """One of --image/--key/--policy; only --image with --key combine: else exit 2."""
    path = copy_fixture(VALUES, tmp_path)
    before = path.read_bytes()

    with pytest.raises(SystemExit) as exit_info:
        main(["bump", str(path), *flags, "--tag", "2.0"])

    assert exit_info.value.code == 2
    assert f"gitops-bot bump: error: {message}" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_key_with_image_checks_the_repository_beside_the_value(
    tmp_path: Path, capsys
) -> None:
    """--key with --image edits a value beside that repository, refuses another."""
    path = copy_fixture(VALUES, tmp_path)
    before = path.read_bytes()

    argv = ["bump", str(path), "--key", "image.tag", "--tag", "2.0"]

    status = main([*argv, "--image", "shop/api"])
    assert status == 2
    assert (
        f"{path}:8: the value belongs to repository "
        "'registry.example.com:5000/shop/api', not 'shop/api'"
    ) in capsys.readouterr().err
    assert path.read_bytes() == before

    status = main([*argv, "--image", API])
    assert status == 0
    assert path.read_bytes() == before.replace(b'tag: "1.9"', b'tag: "2.0"', 1)


def test_a_symlink_stays_and_its_target_is_edited(tmp_path: Path, capsys) -> None:
    """Through a link the file it points to is replaced, mode kept; the link stays."""
    shared = tmp_path / "shared"
    shared.mkdir()
    real = shared / "values.yaml"
    real.write_text('image:\n  repository: r/x\n  tag: "1.0"\n', encoding="utf-8")
    os.chmod(real, 0o640)
    link = tmp_path / "app" / "values.yaml"
    link.parent.mkdir()
    link.symlink_to(real)

    status = main(["bump", str(link), "--key", "image.tag", "--tag", "2.0"])

    assert status == 0, capsys.readouterr().err
    assert link.is_symlink() and link.readlink() == real
    assert real.read_text(encoding="utf-8") == (
        'image:\n  repository: r/x\n  tag: "2.0"\n'
    )
    assert real.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in shared.iterdir()] == ["values.yaml"]
    assert [p.name for p in link.parent.iterdir()] == ["values.yaml"]


def test_a_file_that_cannot_be_written_exits_2(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write the OS refuses exits 2 naming the file; the file is unchanged."""
    path = copy_fixture(VALUES, tmp_path)
    before = path.read_bytes()

    # The suite may run as root, for whom a read-only directory is writable.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    status = main(["bump", str(path), "--key", "image.tag", "--tag", "2.0"])

    assert status == 2
    assert capsys.readouterr().err == (
        f"gitops-bot bump: {path}: cannot write: Permission denied\n"
    )
    assert path.read_bytes() == before


@pytest.mark.parametrize("argv", [["--image", "nginx"], ["--key", "newTag"]])
def test_a_file_that_is_not_yaml_reports_its_syntax_error(
    tmp_path: Path, capsys, argv: list[str]
) -> None:
    """The parse error and its line come first, not a kind-detection refusal."""
    path = tmp_path / "values.yaml"
    path.write_text("newTag: [unclosed\n")

    assert main(["bump", str(path), *argv, "--tag", "9"]) == 2
    assert capsys.readouterr().err == (
        f"gitops-bot bump: {path}: YAML does not parse at line 2, column 1: "
        "expected ',' or ']', but got '<stream end>'\n"
    )
    assert path.read_text() == "newTag: [unclosed\n"


@pytest.mark.parametrize(
    ("count", "noun"), [(1, "1 list item"), (2, "2 list items"), (0, "0 list items")]
)
def test_an_index_past_the_list_counts_its_items(
    tmp_path: Path, capsys, count: int, noun: str
) -> None:
    """The refusal says "1 list item" but "N list items"."""
    text = (
        "sidecars:\n" + "- image:\n    tag: v1\n" * count if count else "sidecars: []\n"
    )
    path = tmp_path / "values.yaml"
    path.write_text(text)

    status = main(["bump", str(path), "--key", "sidecars[5].image.tag", "--tag", "9"])

    assert status == 2
    assert f"sidecars has {noun}, no [5]\n" in capsys.readouterr().err
    assert path.read_text() == text


@pytest.mark.parametrize("through_link", [False, True])
def test_a_fifo_is_refused_before_it_is_opened(
    tmp_path: Path, capsys, through_link: bool
) -> None:
    """A named pipe, or a link to one, exits 2 at once instead of blocking."""
    fifo = tmp_path / "values.yaml"
    os.mkfifo(fifo)
    path = fifo
    if through_link:
        path = tmp_path / "link.yaml"
        path.symlink_to(fifo.name)

    status = main(["bump", str(path), "--key", "image.tag", "--tag", "v1"])

    link = "a symbolic link to " if through_link else ""
    assert status == 2
    assert capsys.readouterr().err == (
        f"gitops-bot bump: {path}: is {link}a FIFO (named pipe), not a regular "
        "file; bump edits regular files only\n"
    )
    assert fifo.is_fifo()
