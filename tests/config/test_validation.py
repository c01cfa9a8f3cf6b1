"""Every validation rule reports ``file:line: dotted.key: expected ...``."""

from __future__ import annotations

import pytest

from tests.config.documents import (
    APP_LINE,
    ENV_LINE,
    TOP_LINE,
    app_doc,
    env_doc,
    problems_of,
    top_doc,
)

NAME = (
    "a name of lower-case letters, digits and '-' "
    "(at most 63 characters, not starting with '-')"
)
LEVELS = "one of guest, reporter, developer, maintainer, owner"


E = ENV_LINE
ENV_CASES = [
    ({"labels": "env::x"}, E, "labels: expected a list, got 'env::x'"),
    ({"labels": '["a,b"]'}, E, "labels[0]: expected a label (no commas), got 'a,b'"),
    (
        {"approvals": "\nrequired: two"},
        E + 1,
        "approvals.required: expected an integer from 0 to 100, got 'two'",
    ),
    (
        {"approvals": "{required: -1}"},
        E,
        "approvals.required: expected an integer from 0 to 100, got -1",
    ),
    (
        {"approvals": "{required: true}"},
        E,
        "approvals.required: expected an integer from 0 to 100, got true",
    ),
    (
        {"approvals": "\nrequired: 1\nmin_access_level: admin"},
        E + 2,
        f"approvals.min_access_level: expected {LEVELS}, got 'admin'",
    ),
    (
        {"approvals": "{required: 3, users: [alice, bob]}"},
        E,
        "approvals: expected required (3) <= the number of users (2) when no "
        "groups are listed",
    ),
    (
        {"approvals": '{groups: ["sre team"]}'},
        E,
        "approvals.groups[0]: expected a group path such as platform/sre, "
        "got 'sre team'",
    ),
    (
        {"approvals": "{count_requester: 1}"},
        E,
        "approvals.count_requester: expected true or false, got 1",
    ),
    (
        {"approvals": "{aproved: 1}"},
        E,
        "approvals.aproved: unknown key 'aproved'; expected one of: required, "
        "groups, users, min_access_level, count_requester",
    ),
    (
        {"required_jobs": '[" "]'},
        E,
        "required_jobs[0]: expected a non-empty string, got ' '",
    ),
    ({"auto_merge": "yes"}, E, "auto_merge: expected true or false, got 'yes'"),
    (
        {"merge_method": "rebase"},
        E,
        "merge_method: expected one of bot, gitlab_auto_merge, got 'rebase'",
    ),
    (
        {"promote_to": "qa"},
        E,
        "promote_to: expected an environment defined under environments "
        "(production, staging), got 'qa'",
    ),
    (
        {"auto_promote": "true"},
        E - 1,
        "expected promote_to to name an environment when auto_promote",
    ),
    (
        {"reviewers": '["al ice"]'},
        E,
        "reviewers[0]: expected a GitLab username, got 'al ice'",
    ),
    (
        {"tag_pattern": '"v("'},
        E,
        "tag_pattern: expected a regular expression that compiles (missing ), "
        "unterminated subpattern at position 1), got 'v('",
    ),
    (
        {"freeze_windows": '[{start: "25:00", end: "06:00"}]'},
        E,
        "freeze_windows[0].start: expected a time HH:MM, got '25:00'",
    ),
    (
        {"freeze_windows": '[{start: "22:00", end: "24:01"}]'},
        E,
        "freeze_windows[0].end: expected a time HH:MM (24:00 allowed), got '24:01'",
    ),
    (
        {"freeze_windows": '\n- days: [fri, funday]\n  start: "10:00"\n  end: "11:00"'},
        E + 1,
        "freeze_windows[0].days[1]: expected one of mon, tue, wed, thu, fri, sat, "
        "sun, got 'funday'",
    ),
    (
        {"merge_windows": '[{days: [], start: "10:00", end: "11:00"}]'},
        E,
        "merge_windows[0].days: expected at least one item, got an empty list",
    ),
    (
        {"freeze_windows": '[{start: "10:00", end: "10:00"}]'},
        E,
        "freeze_windows[0]: expected end to differ from start (00:00 to 24:00 is "
        "a day)",
    ),
    (
        {"freeze_windows": '[{start: "10:00", end: "11:00", timezone: Mars/Base}]'},
        E,
        "freeze_windows[0].timezone: expected an IANA time zone such as "
        "Europe/Berlin or UTC, got 'Mars/Base'",
    ),
    (
        {"merge_windows": '\n- start: "10:00"'},
        E + 1,
        "merge_windows[0].end: required key is missing",
    ),
    (
        {"commands": "{mrege: developer}"},
        E,
        "commands.mrege: expected one of help, status, merge, hold, unhold, "
        "recreate, retry, pin, unpin, close, promote, got 'mrege'",
    ),
    ({"commands": "{merge: god}"}, E, f"commands.merge: expected {LEVELS}, got 'god'"),
    (
        {"override_access_level": "root"},
        E,
        f"override_access_level: expected {LEVELS}, got 'root'",
    ),
    (
        {"aprovals": "{}"},
        E,
        "aprovals: unknown key 'aprovals'; did you mean 'approvals'?",
    ),
    ({"approvals": "2"}, E, "approvals: expected a mapping, got 2"),
]


@pytest.mark.parametrize(("keys", "line", "problem"), ENV_CASES)
def test_environment_rules(keys: dict[str, str], line: int, problem: str) -> None:
    """Each environment rule names the line, the key and what it expects."""
    key = "environments.staging" + ("" if problem.startswith("expected") else ".")
    separator = ": " if problem.startswith("expected") else ""
    assert problems_of(env_doc(**keys)) == [
        f"bot.yaml:{line}: {key}{separator}{problem}"
    ]


A = APP_LINE
APP_CASES = [
    (
        {"image": "registry.example.com/shop/web:v1"},
        A,
        "image: expected an image name without tag or digest, such as "
        "registry.example.com/group/app, got 'registry.example.com/shop/web:v1'",
    ),
    ({"image": None}, A - 1, "image: required key is missing"),
    (
        {"sources": "[]"},
        A + 1,
        "sources: expected at least one item, got an empty list",
    ),
    (
        {"sources": "[web]"},
        A + 1,
        "sources[0]: expected a project path such as group/project, got 'web'",
    ),
    (
        {"environments": "[staging, qa]"},
        A + 2,
        "environments[1]: expected an environment defined under environments "
        "(staging, production), got 'qa'",
    ),
    (
        {"environments": "[]"},
        A + 2,
        "environments: expected at least one item, got an empty list",
    ),
    (
        {"manifests": "[]"},
        A + 3,
        "manifests: expected at least one item, got an empty list",
    ),
    (
        {"manifests": '[{path: "/srv/{env}/web.yaml"}]'},
        A + 3,
        "manifests[0].path: expected a relative file path (placeholders {env} and "
        "{app} allowed), got '/srv/{env}/web.yaml'",
    ),
    (
        {"manifests": '[{path: "apps/../{env}.yaml"}]'},
        A + 3,
        "manifests[0].path: expected a relative file path (placeholders {env} and "
        "{app} allowed), got 'apps/../{env}.yaml'",
    ),
    (
        {"manifests": '[{path: "{region}/{env}.yaml"}]'},
        A + 3,
        "manifests[0].path: expected a template using only the placeholders {env}, "
        "{app}, got '{region}/{env}.yaml'",
    ),
    (
        {"manifests": '\n- path: "{env}/values.yaml"\n  kind: helm'},
        A + 4,
        "manifests[0]: expected key (the dotted path of the tag) for kind helm",
    ),
    (
        {"manifests": '[{path: "{env}/web.yaml", kind: flux}]'},
        A + 3,
        "manifests[0]: expected policy (namespace:name of the image policy) for "
        "kind flux",
    ),
    (
        {"manifests": '[{path: "{env}/web.yaml", kind: jsonnet}]'},
        A + 3,
        "manifests[0].kind: expected one of auto, kustomize, helm, manifest, "
        "argocd, flux, got 'jsonnet'",
    ),
    (
        {"manifests": '[{path: "{env}/v.yaml", key: "image..tag"}]'},
        A + 3,
        "manifests[0].key: expected a dotted key such as image.tag, got 'image..tag'",
    ),
    (
        {"manifests": '[{path: "{env}/w.yaml", kind: flux, policy: web}]'},
        A + 3,
        "manifests[0].policy: expected a Flux image policy as namespace:name, "
        "got 'web'",
    ),
    (
        {"manifests": '[{path: "apps/web.yaml"}]'},
        A - 1,
        "expected every manifest path to contain {env} when the app has several "
        "environments; shared: apps/web.yaml",
    ),
    ({"imagee": "x"}, A + 4, "imagee: unknown key 'imagee'; did you mean 'image'?"),
]


@pytest.mark.parametrize(("keys", "line", "problem"), APP_CASES)
def test_app_rules(keys: dict[str, str | None], line: int, problem: str) -> None:
    """Each app rule names the line, the key and what it expects."""
    separator = ": " if problem.startswith("expected") else "."
    expected = f"bot.yaml:{line}: apps.web{separator}{problem}"
    assert problems_of(app_doc(**keys)) == [expected]


T = TOP_LINE
TOP_CASES = [
    (
        "  timeout_seconds: 0\n",
        T,
        "gitlab.timeout_seconds: expected a number of seconds from 1 to 86400 (a "
        "day), got 0",
    ),
    (
        '  max_concurrent_calls: "8"\n',
        T,
        "gitlab.max_concurrent_calls: expected an integer from 1 to 100, got '8'",
    ),
    (
        "  target_branch: ''\n",
        T,
        "gitlab.target_branch: expected a non-empty string, got ''",
    ),
    (
        "server:\n  public_url: ftp://bot.example.com\n",
        T + 1,
        "server.public_url: expected an http(s) URL such as "
        "https://gitlab.example.com, got 'ftp://bot.example.com'",
    ),
    (
        "server:\n  command_prefix: gitops\n",
        T + 1,
        "server.command_prefix: expected a prefix such as /gitops (a '/' and a "
        "word), got 'gitops'",
    ),
    (
        "server:\n  sweep_interval: 30\n",
        T + 1,
        "server.sweep_interval: unknown key 'sweep_interval'; did you mean "
        "'sweep_interval_seconds'?",
    ),
    (
        "server:\n  static_tokens:\n    - {project: shop/web}\n",
        T + 2,
        "server.static_tokens[0].token_env: required key is missing",
    ),
    (
        "templates:\n  branch: gitops/{app}\n",
        T + 1,
        "templates.branch: expected a branch template containing both {env} and "
        "{app}, made of letters, digits and . _ / - (no '..', '//', no leading or "
        "trailing '/' or '.'), got 'gitops/{app}'",
    ),
    (
        "templates:\n  branch: gitops/{env}..{app}\n",
        T + 1,
        "templates.branch: expected a branch template containing both {env} and "
        "{app}, made of letters, digits and . _ / - (no '..', '//', no leading or "
        "trailing '/' or '.'), got 'gitops/{env}..{app}'",
    ),
    (
        "templates:\n  title: Deploy {app} {version}\n",
        T + 1,
        "templates.title: expected a template using only the placeholders {app}, "
        "{env}, {tag}, {digest}, {short_digest}, {image}, got 'Deploy {app} {version}'",
    ),
    (
        "templates:\n  title: Deploy {app\n",
        T + 1,
        "templates.title: expected a template using only the placeholders {app}, "
        "{env}, {tag}, {digest}, {short_digest}, {image}, got 'Deploy {app'",
    ),
    (
        "enviroments: {}\n",
        T,
        "enviroments: unknown key 'enviroments'; did you mean 'environments'?",
    ),
]


@pytest.mark.parametrize(("text", "line", "problem"), TOP_CASES)
def test_section_rules(text: str, line: int, problem: str) -> None:
    """gitlab, server and templates rules name the line, key and expectation."""
    assert problems_of(top_doc(text)) == [f"bot.yaml:{line}: {problem}"]


SECRET_CASES = [
    ("  token: glpat-abc123\n", "gitlab.token", "token_env"),
    (
        "server:\n  webhook_secret: hunter2-abc123\n",
        "server.webhook_secret",
        "webhook_secret_env",
    ),
    (
        "server:\n  static_tokens:\n    - {project: shop/web, token: s3cr3t-abc123}\n",
        "server.static_tokens[0].token",
        "token_env",
    ),
]


@pytest.mark.parametrize(("text", "key", "holder"), SECRET_CASES)
def test_inline_secret_is_refused_without_echo(
    text: str, key: str, holder: str
) -> None:
    """A secret in the file is refused, naming the *_env key, never the value."""
    problems = problems_of(top_doc(text))
    (problem,) = [problem for problem in problems if f": {key}: " in problem]

    assert f": {key}: unknown key " in problem
    assert "secrets are never read from the file" in problem
    assert f"give its name in {holder}" in problem
    assert not any("abc123" in problem for problem in problems)


@pytest.mark.parametrize("key", ["token_env", "webhook_secret_env"])
def test_secret_value_in_env_key_is_not_echoed(key: str) -> None:
    """A token pasted where a variable name belongs is refused and not shown."""
    section = "  " if key == "token_env" else "server:\n  "
    (problem,) = problems_of(top_doc(f"{section}{key}: glpat-Zx9abc123\n"))

    assert "expected the NAME of an environment variable" in problem
    assert "glpat" not in problem


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Web", f"apps.Web: expected {NAME}, got 'Web'"),
        ("-web", f"apps.-web: expected {NAME}, got '-web'"),
        ("w" * 64, f"apps.{'w' * 64}: expected {NAME}, got '{'w' * 64}'"),
        ("web_1", f"apps.web_1: expected {NAME}, got 'web_1'"),
    ],
)
def test_app_names_are_dns_labels(name: str, problem: str) -> None:
    """App names must be safe in branch and label names."""
    text = app_doc().replace("  web:\n", f"  {name}:\n")
    assert problems_of(text) == [f"bot.yaml:8: {problem}"]


def test_environment_names_are_dns_labels() -> None:
    """Environment names must be safe in branch and label names."""
    text = env_doc().replace("  production: {}", "  Prod.1: {}")
    assert problems_of(text) == [
        f"bot.yaml:11: environments.Prod.1: expected {NAME}, got 'Prod.1'"
    ]


def test_problems_are_all_reported_in_line_order() -> None:
    """Several faults are reported together, sorted by line."""
    text = env_doc(auto_merge="maybe", labels="x", merge_method="squash")
    assert [problem.split(": ")[0] for problem in problems_of(text)] == [
        f"bot.yaml:{E}",
        f"bot.yaml:{E + 1}",
        f"bot.yaml:{E + 2}",
    ]
