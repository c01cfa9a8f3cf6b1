"""Loading: file precedence, overrides, YAML faults, defaults and helpers."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.config import (
    AppConfig,
    Config,
    ConfigError,
    UnknownName,
    config_path,
    load_config,
    parse_config,
)
from bot.config.load import MAX_CONFIG_BYTES
from bot.policy import AccessLevel
from tests.config.documents import app_doc, env_doc, problems_of
from tests.conftest import ROOT, SHARED, require_shared

DATA = ROOT / "tests" / "data" / "config"
EXAMPLE = ROOT / "config" / "bot.yaml"


@pytest.mark.parametrize(
    ("argument", "environ", "expected"),
    [
        ("given.yaml", {"GITOPS_BOT_CONFIG": "env.yaml"}, Path("given.yaml")),
        (None, {"GITOPS_BOT_CONFIG": "env.yaml"}, Path("env.yaml")),
        (None, {"GITOPS_BOT_CONFIG": ""}, Path("config/bot.yaml")),
        (None, {}, Path("config/bot.yaml")),
    ],
)
def test_config_path_precedence(
    argument: str | None, environ: dict[str, str], expected: Path
) -> None:
    """An explicit path beats GITOPS_BOT_CONFIG, which beats config/bot.yaml."""
    assert config_path(argument, environ) == expected


def test_load_reads_the_file_named_by_the_variable(tmp_path: Path) -> None:
    """GITOPS_BOT_CONFIG names the file that load_config reads."""
    target = tmp_path / "other.yaml"
    target.write_text(app_doc(image="registry.example.com/shop/other"))

    config = load_config(environ={"GITOPS_BOT_CONFIG": str(target)})

    assert config.app("web").image == "registry.example.com/shop/other"


def test_load_defaults_to_config_bot_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a path or variable, ./config/bot.yaml is read."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "bot.yaml").write_text(app_doc())
    monkeypatch.chdir(tmp_path)

    assert load_config(environ={}).gitlab.project == "platform/gitops"


def test_missing_file_says_how_to_name_one(tmp_path: Path) -> None:
    """A missing file is one problem naming the path and the ways to choose one."""
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml", environ={})

    assert caught.value.problems == (
        f"{tmp_path / 'nope.yaml'}: no such file; pass a path, set "
        "GITOPS_BOT_CONFIG, or create config/bot.yaml",
    )
    assert caught.value.exit_status == 2


def test_directory_instead_of_file_is_reported(tmp_path: Path) -> None:
    """A directory is one plain problem, not an errno."""
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, environ={})

    assert caught.value.problems == (
        f"{tmp_path} is a directory, not a configuration file",
    )


@pytest.mark.parametrize("make", ["fifo", "device"])
def test_a_file_that_reading_would_hang_on_is_refused(
    tmp_path: Path, make: str
) -> None:
    """A FIFO (no writer: the read would block) or /dev/zero (endless) is one
    plain problem, found without reading."""
    if make == "fifo":
        path = tmp_path / "bot.yaml"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    assert caught.value.problems == (
        f"{path} is not a regular file (a FIFO, device or socket); give the path "
        "of a YAML file",
    )


def test_a_file_larger_than_any_configuration_is_refused(tmp_path: Path) -> None:
    """Past 4 MiB the file is refused by its size, before it is read."""
    path = tmp_path / "bot.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_CONFIG_BYTES + 1)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    assert caught.value.problems == (
        f"{path} is {MAX_CONFIG_BYTES + 1} bytes; a configuration file is at most "
        f"{MAX_CONFIG_BYTES} bytes",
    )


def test_file_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    """Bytes that are not UTF-8: the first one, its offset and line, no codec."""
    path = tmp_path / "bot.yaml"
    path.write_bytes(b"gitlab:\n  url: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    assert caught.value.problems == (
        f"{path} is not UTF-8 text (byte 0xe9 at offset 18, line 2); save it as UTF-8",
    )


def test_errors_name_the_file_given(tmp_path: Path) -> None:
    """Problems start with the path of the file that was read."""
    with pytest.raises(ConfigError) as caught:
        load_config(DATA / "broken.yaml", environ={})

    assert caught.value.problems == (
        f"{DATA / 'broken.yaml'}:6: environments.staging.approvals.required: "
        "expected an integer from 0 to 100, got 'two'",
        f"{DATA / 'broken.yaml'}:11: apps.web.environments[1]: expected an "
        "environment defined under environments (staging), got 'qa'",
        f"{DATA / 'broken.yaml'}:12: apps.web.manifests: expected at least one "
        "item, got an empty list",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "bot.yaml:1: the file is empty; expected gitlab, environments and apps"),
        ("- a\n- b\n", "bot.yaml:1: expected a mapping at the top level"),
        (
            "gitlab: [1\nx: 2\n",
            "bot.yaml:2: invalid YAML: expected ',' or ']', but got ':'",
        ),
        (
            "a: 1\nb: 2\na: 3\n",
            'bot.yaml:3: invalid YAML: found duplicate key "a" '
            'with value "3" (original value: "1")',
        ),
        ("a: *nowhere\n", "bot.yaml:1: invalid YAML: found undefined alias 'nowhere'"),
        (
            "a: " + "[" * 500 + "]" * 500,
            "bot.yaml:1: invalid YAML: nested too deeply",
        ),
        (
            "? [[a]]\n: 1\n",
            "bot.yaml:1: invalid YAML: a key holds a list or mapping inside it",
        ),
        (
            "gitlab: {url: https://g.example.com, project: a/b}\n",
            "bot.yaml:1: apps: required key is missing",
        ),
    ],
)
def test_unreadable_documents(text: str, problem: str) -> None:
    """YAML faults and empty documents are problems with a line, not crashes."""
    problems = problems_of(text)
    assert problems[-1] == problem


def test_missing_sections_are_each_reported() -> None:
    """Each required top-level section that is absent is its own problem."""
    assert problems_of("server: {}\n") == [
        "bot.yaml:1: gitlab: required key is missing",
        "bot.yaml:1: environments: required key is missing",
        "bot.yaml:1: apps: required key is missing",
    ]


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        (
            {"promote_to": "staging"},
            "bot.yaml:13: environments.staging.promote_to: expected another "
            "environment, got 'staging'",
        ),
    ],
)
def test_promotion_to_itself(keys: dict[str, str], problem: str) -> None:
    """An environment may not promote to itself."""
    assert problems_of(env_doc(**keys)) == [problem]


def test_loop_of_automatic_promotions() -> None:
    """Automatic promotions must end; a loop is reported on each member."""
    text = (
        env_doc(promote_to="production", auto_promote="true")
        .replace(
            "  production: {}",
            "  production: {promote_to: staging, auto_promote: true}",
        )
        .replace("environments: [staging]", "environments: [staging, production]")
    )
    assert problems_of(text) == [
        "bot.yaml:11: environments.production.promote_to: expected auto "
        "promotions to end; production -> staging -> production",
        "bot.yaml:13: environments.staging.promote_to: expected auto promotions "
        "to end; staging -> production -> staging",
    ]


def test_manual_promotions_may_point_both_ways() -> None:
    """Without auto_promote, environments may name each other."""
    text = env_doc(promote_to="production").replace(
        "  production: {}", "  production: {promote_to: staging}"
    )
    config = parse_config(text, "bot.yaml", environ={})
    assert config.environment("production").promote_to == "staging"


def test_gitlab_url_override() -> None:
    """GITOPS_BOT_GITLAB_URL replaces gitlab.url (trailing slash dropped)."""
    config = parse_config(
        app_doc(), environ={"GITOPS_BOT_GITLAB_URL": "http://127.0.0.1:8929/"}
    )
    assert config.gitlab.url == "http://127.0.0.1:8929"


def test_bad_gitlab_url_override_names_the_variable() -> None:
    """An invalid override is reported against the variable, not a file line."""
    problems = problems_of(app_doc(), environ={"GITOPS_BOT_GITLAB_URL": "localhost"})
    assert problems == [
        "GITOPS_BOT_GITLAB_URL: gitlab.url: expected an http(s) URL such as "
        "https://gitlab.example.com, got 'localhost'"
    ]


def test_defaults() -> None:
    """Keys left out take the documented defaults."""
    config = parse_config(env_doc(), environ={})
    staging = config.environment("staging")

    assert config.gitlab.model_dump(exclude={"url", "project"}) == {
        "token_env": "GITLAB_TOKEN",
        "target_branch": "main",
        "timeout_seconds": 30,
        "retry_deadline_seconds": 120,
        "max_concurrent_calls": 8,
        "tier": "auto",
        "changelog": True,
    }
    assert config.server.model_dump() == {
        "webhook_secret_env": "GITOPS_BOT_WEBHOOK_SECRET",
        "public_url": None,
        "id_token_audience": None,
        "static_tokens": (),
        "sweep_interval_seconds": 60,
        "max_body_bytes": 65536,
        "max_webhook_bytes": 2097152,
        "max_pending_events": 1000,
        "command_prefix": "/gitops",
    }
    assert config.templates.branch == "gitops/{env}/{app}"
    assert config.templates.title == "Deploy {app} {tag} to {env}"
    assert (staging.auto_merge, staging.merge_method, staging.auto_promote) == (
        True,
        "bot",
        False,
    )
    assert staging.approvals.min_access_level is AccessLevel.DEVELOPER
    assert staging.approvals.count_requester is False
    assert staging.override_access_level is AccessLevel.MAINTAINER


def test_command_levels_default_and_override() -> None:
    """Commands default to reporter/developer; the file raises single ones."""
    config = parse_config(env_doc(commands="{promote: owner}"), environ={})
    commands = config.environment("staging").commands

    assert commands["help"] is commands["status"] is AccessLevel.REPORTER
    assert commands["merge"] is commands["pin"] is AccessLevel.DEVELOPER
    assert commands["promote"] is AccessLevel.OWNER
    assert set(commands) == {
        "help", "status", "merge", "hold", "unhold", "recreate", "retry",
        "pin", "unpin", "close", "promote",
    }  # fmt: skip


def test_environments_with_approvals_protect_merge_and_pin() -> None:
    """Where approvals are required, merge/pin/unpin default to maintainer."""
    config = parse_config(env_doc(approvals="{required: 1}"), environ={})
    commands = config.environment("staging").commands

    assert commands["merge"] is commands["pin"] is commands["unpin"]
    assert commands["merge"] is AccessLevel.MAINTAINER
    assert commands["hold"] is AccessLevel.DEVELOPER


def test_config_is_frozen() -> None:
    """The loaded configuration cannot be changed in place."""
    config = parse_config(app_doc(), environ={})
    with pytest.raises(ValueError, match="frozen"):
        config.gitlab.project = "other/project"  # type: ignore[misc]


def test_lookup_of_unknown_names() -> None:
    """Unknown app and environment names raise UnknownName listing the known."""
    config = parse_config(app_doc(), environ={})

    with pytest.raises(UnknownName, match=r"^unknown app 'api'; known: web$"):
        config.app("api")
    with pytest.raises(
        UnknownName, match=r"^unknown environment 'qa'; known: production, staging$"
    ):
        config.environment("qa")
    assert UnknownName.http_status == 404


def test_manifest_helpers_render_paths_and_images() -> None:
    """manifest_paths and manifests_for fill {app} and {env} and the image."""
    text = app_doc(
        manifests='\n- path: "{app}/{env}/k.yaml"\n- path: "c/{env}.yaml"\n'
        "  key: web.tag\n  image: registry.example.com/shop/sidecar"
    )
    app: AppConfig = parse_config(text, environ={}).app("web")

    assert app.name == "web"
    assert app.manifest_paths("staging") == ("web/staging/k.yaml", "c/staging.yaml")
    first, second = app.manifests_for("production")
    assert (first.path, first.image) == (
        "web/production/k.yaml",
        "registry.example.com/shop/web",
    )
    assert (second.path, second.key, second.image) == (
        "c/production.yaml",
        "web.tag",
        "registry.example.com/shop/sidecar",
    )


def test_branch_title_and_labels() -> None:
    """Branch, title and labels come from the templates and the environment."""
    text = env_doc(labels="[env::staging, team::shop]") + (
        "templates:\n  title: '{app}: {image} {tag} ({short_digest}) to {env}'\n"
    )
    config = parse_config(text, environ={})
    digest = "sha256:" + "ab" * 32

    assert config.branch_name("web", "staging") == "gitops/staging/web"
    assert config.title("web", "staging", tag="v1.2.0", digest=digest) == (
        "web: registry.example.com/shop/web v1.2.0 (abababababab) to staging"
    )
    assert config.labels("web", "staging") == (
        "gitops-bot",
        "app::web",
        "env::staging",
        "team::shop",
    )


def test_title_of_a_digest_only_deploy_shows_the_short_digest() -> None:
    """With no tag, {tag} in the default title is the short digest."""
    config = parse_config(app_doc(), environ={})
    digest = "sha256:" + "0123456789" * 6 + "abcd"

    assert config.title("web", "staging", digest=digest) == (
        "Deploy web 012345678901 to staging"
    )


def test_window_defaults_and_parsing() -> None:
    """A window without days opens every day; times become minutes."""
    text = env_doc(freeze_windows='[{start: "22:30", end: "24:00"}]')
    (window,) = parse_config(text, environ={}).environment("staging").freeze_windows

    assert window.weekdays == frozenset(range(7))
    assert (window.start_minute, window.end_minute) == (22 * 60 + 30, 1440)
    assert window.timezone == "UTC"
    assert window.describe() == "mon,tue,wed,thu,fri,sat,sun 22:30-24:00 UTC"


def test_example_configuration_is_valid() -> None:
    """config/bot.yaml, used by the docs and the demo, loads cleanly."""
    config: Config = load_config(EXAMPLE, environ={})

    production = config.environment("production")
    assert config.environment("staging").promote_to == "production"
    assert production.approvals.required == 2
    assert production.approvals.groups == ("platform/sre",)
    assert production.required_jobs == ("integration-test",)
    assert {"kustomize", "helm"} <= {
        manifest.kind for app in config.apps.values() for manifest in app.manifests
    }


def test_design_example_is_valid() -> None:
    """The configuration printed in DESIGN.md loads: its keys are the contract."""
    config = load_config(DATA / "design-example.yaml", environ={})
    assert config.app("my-app").manifest_paths("production") == (
        "apps/production/my-app/kustomization.yaml",
        "charts/my-app/values-production.yaml",
    )


def test_design_document_example_matches_our_copy() -> None:
    """Our copy of the DESIGN.md example still matches the document."""
    design = require_shared(SHARED / "DESIGN.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", design, re.DOTALL)
    assert block is not None
    ours = (DATA / "design-example.yaml").read_text().split("\n", 1)[1]
    assert block.group(1) == ours
