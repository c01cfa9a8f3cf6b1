"""Bounded numbers, manifest fields per kind, promotions an app can follow,
and files that cannot be read: each refused with one plain line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import parse_config
from tests.config.documents import APP_LINE, TOP_LINE, app_doc, problems_of, top_doc

A, T = APP_LINE, TOP_LINE
SECONDS = "expected a number of seconds from 1 to 86400 (a day)"
WEBHOOK_BYTES = (
    "expected a number of bytes from 16384 (16 KiB; smaller limits refuse "
    "ordinary comment events and lose their commands) to 67108864 (64 MiB)"
)


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (
            "  timeout_seconds: 10000000000\n",
            T,
            f"gitlab.timeout_seconds: {SECONDS}, got 10000000000",
        ),
        (
            "  retry_deadline_seconds: 86401\n",
            T,
            f"gitlab.retry_deadline_seconds: {SECONDS}, got 86401",
        ),
        (
            "  max_concurrent_calls: 101\n",
            T,
            "gitlab.max_concurrent_calls: expected an integer from 1 to 100, got 101",
        ),
        (
            "server:\n  sweep_interval_seconds: 1000000\n",
            T + 1,
            f"server.sweep_interval_seconds: {SECONDS}, got 1000000",
        ),
        (
            "server:\n  max_body_bytes: 16777217\n",
            T + 1,
            "server.max_body_bytes: expected a number of bytes from 1 to 16777216 "
            "(16 MiB), got 16777217",
        ),
        (
            "server:\n  max_webhook_bytes: 100\n",
            T + 1,
            f"server.max_webhook_bytes: {WEBHOOK_BYTES}, got 100",
        ),
        (
            "server:\n  max_webhook_bytes: 67108865\n",
            T + 1,
            f"server.max_webhook_bytes: {WEBHOOK_BYTES}, got 67108865",
        ),
        (
            "server:\n  max_pending_events: 100001\n",
            T + 1,
            "server.max_pending_events: expected an integer from 1 to 100000, "
            "got 100001",
        ),
    ],
)
def test_numbers_past_their_bound_are_refused(
    text: str, line: int, problem: str
) -> None:
    """Every number of the model has an upper bound, named in the message."""
    assert problems_of(top_doc(text)) == [f"bot.yaml:{line}: {problem}"]


def test_the_bounds_themselves_are_accepted() -> None:
    """A day of seconds and 16 KiB of webhook body are allowed."""
    text = top_doc(
        "  timeout_seconds: 86400\n"
        "server:\n  max_webhook_bytes: 16384\n  sweep_interval_seconds: 86400\n"
    )
    config = parse_config(text, "bot.yaml", environ={})

    assert config.gitlab.timeout_seconds == 86400
    assert config.server.max_webhook_bytes == 16384


def test_approvals_past_their_bound_are_refused() -> None:
    """approvals.required is a count with an upper bound too."""
    text = top_doc("").replace(
        "  staging: {}", "  staging: {approvals: {required: 101}}"
    )
    assert problems_of(text) == [
        "bot.yaml:2: environments.staging.approvals.required: expected an integer "
        "from 0 to 100, got 101",
    ]


@pytest.mark.parametrize(
    ("manifest", "problems"),
    [
        (
            '{path: "/abs/{env}.yaml", kind: helm}',
            [
                "manifests[0].path: expected a relative file path (placeholders "
                "{env} and {app} allowed), got '/abs/{env}.yaml'",
                "manifests[0]: expected key (the dotted path of the tag) for kind helm",
            ],
        ),
        (
            '{path: "/abs/{env}.yaml", kind: flux}',
            [
                "manifests[0].path: expected a relative file path (placeholders "
                "{env} and {app} allowed), got '/abs/{env}.yaml'",
                "manifests[0]: expected policy (namespace:name of the image "
                "policy) for kind flux",
            ],
        ),
        (
            '{path: "{env}/k.yaml", kind: kustomize, key: image.tag}',
            [
                "manifests[0].key: expected no key for kind kustomize: only kinds "
                "auto, helm, argocd use one",
            ],
        ),
        (
            '{path: "{env}/w.yaml", kind: manifest, policy: "flux-system:web"}',
            [
                "manifests[0].policy: expected no policy for kind manifest: only "
                "kinds auto, flux use one",
            ],
        ),
        (
            '{path: "{env}/w.yaml", kind: flux, policy: "ns:web", key: image.tag}',
            [
                "manifests[0].key: expected no key for kind flux: only kinds auto, "
                "helm, argocd use one",
            ],
        ),
        (
            '{path: "{env}/w.yaml", policy: "ns:web", key: image.tag}',
            [
                "manifests[0].key: expected key or policy, not both: a policy makes "
                "the entry flux, which uses no key",
            ],
        ),
    ],
)
def test_manifest_fields_follow_the_kind(manifest: str, problems: list[str]) -> None:
    """A field the kind needs is reported beside a bad path; one it ignores is
    refused naming the kind."""
    expected = [f"bot.yaml:{A + 3}: apps.web.{problem}" for problem in problems]
    assert problems_of(app_doc(manifests=f"[{manifest}]")) == expected


def test_auto_promotion_to_an_environment_the_app_lacks() -> None:
    """staging auto-promotes to production; an app only in staging and qa is
    refused, naming the app, the source and the missing target."""
    text = (
        top_doc("")
        .replace(
            "  staging: {}",
            "  staging: {promote_to: production, auto_promote: true}\n  qa: {}",
        )
        .replace("  web:", "  ghost:")
        .replace("environments: [staging]", "environments: [staging, qa]")
    )
    assert problems_of(text) == [
        "bot.yaml:9: apps.ghost.environments[0]: expected production among the "
        "app's environments: staging auto-promotes to production, where app ghost "
        "is not deployed; add production here or set auto_promote: false in "
        "environments.staging",
    ]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["check-config", "serve"])
def test_a_timeout_past_a_day_stops_check_config_and_serve(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The value that crashed every deploy is refused before anything runs."""
    path = _write(tmp_path, top_doc("  timeout_seconds: 10000000000\n"))
    args = [command, str(path)] if command == "check-config" else [
        command, "--config", str(path)
    ]  # fmt: skip

    assert main(args) == 2
    assert f"{path}:{T}: gitlab.timeout_seconds: {SECONDS}, got 10000000000" in (
        capsys.readouterr().err
    )


def test_check_config_of_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory is named as such, without an errno."""
    assert main(["check-config", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path} is a directory, not a configuration file",
        f"{tmp_path}: 1 problem",
    ]


def test_check_config_of_a_file_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A byte that is not UTF-8 is named with its offset, without codec words."""
    path = tmp_path / "bot.yaml"
    path.write_bytes(b"\xffgitlab: {}\n")

    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path} is not UTF-8 text (byte 0xff at offset 0, line 1); save it as UTF-8",
        f"{path}: 1 problem",
    ]
