"""Rules across keys: repeated environments and files, the bot's own labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import parse_config
from bot.config.rules import label_problem
from tests.config.documents import APP_LINE, ENV_LINE, app_doc, env_doc, problems_of

A, E = APP_LINE, ENV_LINE


@pytest.mark.parametrize(
    ("keys", "line", "problem"),
    [
        (
            {"environments": "[staging, staging]"},
            A + 2,
            "environments[1]: expected each environment once, got 'staging' "
            "again (environments[0])",
        ),
        (
            {"environments": "\n- staging\n- production\n- staging"},
            A + 5,
            "environments[2]: expected each environment once, got 'staging' "
            "again (environments[0])",
        ),
        (
            {
                "manifests": '\n- path: "apps/{env}/web.yaml"\n'
                '- path: "apps/{env}/web.yaml"\n  key: image.tag'
            },
            A + 5,
            "manifests[1].path: expected each file once, got apps/staging/web.yaml "
            "again (manifests[0], in staging)",
        ),
        (
            {
                "environments": "[staging]",
                "manifests": '\n- path: "apps/{env}/web.yaml"\n'
                '- path: "apps/staging/web.yaml"',
            },
            A + 5,
            "manifests[1].path: expected each file once, got apps/staging/web.yaml "
            "again (manifests[0], in staging)",
        ),
        (
            {
                "manifests": '\n- path: "apps/{env}/{app}.yaml"\n'
                '- path: "apps/{env}/web.yaml"'
            },
            A + 5,
            "manifests[1].path: expected each file once, got apps/staging/web.yaml "
            "again (manifests[0], in staging)",
        ),
    ],
)
def test_an_app_lists_each_environment_and_file_once(
    keys: dict[str, str], line: int, problem: str
) -> None:
    """A repeated environment or file is refused at the line of the repeat."""
    assert problems_of(app_doc(**keys)) == [f"bot.yaml:{line}: apps.web.{problem}"]


def test_distinct_files_per_environment_are_accepted() -> None:
    """Two manifests naming different files in every environment load."""
    manifests = '\n- path: "apps/{env}/web.yaml"\n- path: "charts/{env}/values.yaml"'
    config = parse_config(app_doc(manifests=manifests), "bot.yaml", environ={})

    assert config.app("web").manifest_paths("production") == (
        "apps/production/web.yaml",
        "charts/production/values.yaml",
    )


SCOPE_CLASH = (
    "expected a label outside the scopes gitops, app, env, got {label!r}: on "
    "GitLab Premium scoped labels are exclusive, so it would replace the bot's "
    "own {scope}:: label ({evicted})"
)


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        (
            "gitops::x",
            SCOPE_CLASH.format(
                label="gitops::x",
                scope="gitops",
                evicted="gitops::hold, gitops::pipeline-failed",
            ),
        ),
        (
            "gitops::hold",
            SCOPE_CLASH.format(
                label="gitops::hold",
                scope="gitops",
                evicted="gitops::hold, gitops::pipeline-failed",
            ),
        ),
        (
            "app::web",
            SCOPE_CLASH.format(label="app::web", scope="app", evicted="app::<app>"),
        ),
        (
            "env::production",
            SCOPE_CLASH.format(
                label="env::production", scope="env", evicted="env::staging"
            ),
        ),
        (
            "gitops-bot",
            "expected a label the bot does not set itself, got 'gitops-bot': every "
            "bot merge request has it already",
        ),
        ("env::staging", None),
        ("team::shop", None),
        ("gitops", None),
        ("env::staging::eu", None),
        ("Gitops::hold", None),
        ("gitops-bot::x", None),
    ],
)
def test_label_rules(label: str, problem: str | None) -> None:
    """Labels in the bot's scopes are refused, except the environment's own."""
    assert label_problem("staging", label) == problem


def test_labels_are_refused_at_their_line() -> None:
    """Each refused label is reported at its own line, keyed by its index."""
    text = env_doc(labels="\n- team::shop\n- gitops::x\n- gitops-bot")

    assert problems_of(text) == [
        f"bot.yaml:{E + 2}: environments.staging.labels[1]: "
        + SCOPE_CLASH.format(
            label="gitops::x",
            scope="gitops",
            evicted="gitops::hold, gitops::pipeline-failed",
        ),
        f"bot.yaml:{E + 3}: environments.staging.labels[2]: expected a label the "
        "bot does not set itself, got 'gitops-bot': every bot merge request has "
        "it already",
    ]


def test_the_environments_own_env_label_is_accepted() -> None:
    """``labels: [env::staging]`` on staging, as in DESIGN.md, loads."""
    config = parse_config(env_doc(labels="[env::staging]"), "bot.yaml", environ={})

    assert config.labels("web", "staging") == ("gitops-bot", "app::web", "env::staging")


def test_check_config_reports_every_repeat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check-config`` exits 2 and prints each repeat with file:line."""
    path = tmp_path / "bot.yaml"
    manifests = '[{path: "apps/{env}/web.yaml"}, {path: "apps/{env}/web.yaml"}]'
    path.write_text(app_doc(environments="[staging, staging]", manifests=manifests))

    status = main(["check-config", str(path)])
    _, err = capsys.readouterr()

    assert status == 2
    assert err.splitlines() == [
        f"{path}:{A + 2}: apps.web.environments[1]: expected each environment once, "
        "got 'staging' again (environments[0])",
        f"{path}:{A + 3}: apps.web.manifests[1].path: expected each file once, got "
        "apps/staging/web.yaml again (manifests[0], in staging)",
        f"{path}: 2 problems",
    ]


ONE_PASS = """\
gitlab:
  url: https://gitlab.example.com
  project: platform/gitops
environments: {s: {merge_method: foo, labels: [gitops::hold]}}
apps:
  web:
    image: registry.example.com/shop/web
    sources: [shop/web]
    environments: [s, s]
    manifests: [{path: "apps/{env}/web.yaml"}]
"""


def test_check_config_reports_schema_and_key_rules_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value, a refused label and a repeated environment show together."""
    path = tmp_path / "bot.yaml"
    path.write_text(ONE_PASS)

    status = main(["check-config", str(path)])
    _, err = capsys.readouterr()

    assert status == 2
    assert err.splitlines() == [
        f"{path}:4: environments.s.merge_method: expected one of bot, "
        "gitlab_auto_merge, got 'foo'",
        f"{path}:4: environments.s.labels[0]: "
        + SCOPE_CLASH.format(
            label="gitops::hold",
            scope="gitops",
            evicted="gitops::hold, gitops::pipeline-failed",
        ),
        f"{path}:9: apps.web.environments[1]: expected each environment once, "
        "got 's' again (environments[0])",
        f"{path}: 3 problems",
    ]


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            app_doc(environments="[qa, qa]"),
            [
                f"bot.yaml:{A + 2}: apps.web.environments[0]: expected an "
                "environment defined under environments (staging, production), "
                "got 'qa'",
                f"bot.yaml:{A + 2}: apps.web.environments[1]: expected an "
                "environment defined under environments (staging, production), "
                "got 'qa'",
            ],
        ),
        (
            env_doc(labels='["gitops::x,y"]'),
            [
                f"bot.yaml:{E}: environments.staging.labels[0]: expected a label "
                "(no commas), got 'gitops::x,y'",
            ],
        ),
    ],
)
def test_a_key_the_schema_refuses_is_not_reported_again(
    text: str, problems: list[str]
) -> None:
    """A value that fails its type shows one problem, not a rule's as well."""
    assert problems_of(text) == problems


def test_rules_across_sections_wait_for_a_valid_schema() -> None:
    """A repeated manifest file shows only once the schema holds (README)."""
    manifests = '[{path: "apps/{env}/web.yaml"}, {path: "apps/{env}/web.yaml"}]'
    text = app_doc(image="Not An Image", manifests=manifests)

    assert problems_of(text) == [
        f"bot.yaml:{A}: apps.web.image: expected an image name without tag or "
        "digest, such as registry.example.com/group/app, got 'Not An Image'",
    ]
