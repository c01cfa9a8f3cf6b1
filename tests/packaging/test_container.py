"""The Dockerfile builds what the project is, as a non-root user.

No container engine runs on the build machines, so these tests parse the
Dockerfile instead of building it.
"""

from __future__ import annotations

import json
import tomllib

import pytest
from dockerfile_parse import DockerfileParser

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def instructions() -> list[dict]:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return parser.structure


def _runtime_stage(instructions: list[dict]) -> list[dict]:
    starts = [i for i, ins in enumerate(instructions) if ins["instruction"] == "FROM"]
    return instructions[starts[-1] :]


def test_copied_sources_exist(instructions: list[dict]) -> None:
    """Every COPY from the build context names a path that exists in the repo."""
    for ins in instructions:
        if ins["instruction"] != "COPY" or "--from=" in ins["value"]:
            continue
        *sources, _destination = ins["value"].split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: missing in the repo"


def test_runtime_user_is_not_root(instructions: list[dict]) -> None:
    """The final stage switches to a non-root user before the command runs."""
    users = [
        i["value"] for i in _runtime_stage(instructions) if i["instruction"] == "USER"
    ]
    assert users, "the runtime stage sets no USER"
    assert users[-1] not in {"root", "0", "0:0"}


def test_command_is_the_installed_entry_point(instructions: list[dict]) -> None:
    """The image runs the console script that pyproject.toml installs, as `serve`."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    runtime = _runtime_stage(instructions)
    entrypoint = [i["value"] for i in runtime if i["instruction"] == "ENTRYPOINT"][-1]
    command = [i["value"] for i in runtime if i["instruction"] == "CMD"][-1]

    assert json.loads(entrypoint)[0] in scripts
    assert json.loads(command)[0] == "serve"


def test_healthcheck_probes_healthz(instructions: list[dict]) -> None:
    """The HEALTHCHECK asks the server's liveness route."""
    checks = [i["value"] for i in instructions if i["instruction"] == "HEALTHCHECK"]
    assert checks and "/healthz" in checks[-1]


def test_nothing_secret_is_baked_in(instructions: list[dict]) -> None:
    """No ENV or ARG in the image carries a token, password or secret value."""
    for ins in instructions:
        if ins["instruction"] in {"ENV", "ARG"}:
            assert not any(
                word in ins["value"].upper()
                for word in ("TOKEN=", "SECRET=", "PASSWORD=")
            ), ins["value"]


def test_dockerignore_keeps_tests_and_git_out() -> None:
    """The build context leaves out the git history, tests and virtualenvs."""
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests"} <= set(ignored)
