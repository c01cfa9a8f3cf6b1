"""Any document, however wrong, gives a Config or a ConfigError, never a crash."""

from __future__ import annotations

import io
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.config import Config, ConfigError, parse_config
from tests.config.documents import problems_of
from tests.conftest import ROOT

EXAMPLE = (ROOT / "config" / "bot.yaml").read_text()
PROBLEM = re.compile(
    r"bot\.yaml:\d+: (\S.*?: )?(expected|unknown key|required|invalid YAML).*"
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["staging", "production", "maintainer", "24:00", "{env}"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.from_regex(r"[a-z_ -]{1,8}", fullmatch=True), inner, max_size=3
        ),
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += _paths(value, prefix + (index,))
    return paths


def _dump(document: Any) -> str:
    stream = io.StringIO()
    YAML(typ="rt").dump(document, stream)
    return stream.getvalue()


@settings(max_examples=60, deadline=None)
@given(st.data(), VALUES)
def test_one_replaced_value_never_crashes(data: st.DataObject, value: Any) -> None:
    """Replacing any value of the example gives a Config or well-formed problems."""
    document = YAML(typ="rt").load(EXAMPLE)
    path = data.draw(st.sampled_from(_paths(document)))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value

    try:
        result = parse_config(_dump(document), "bot.yaml", environ={})
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert PROBLEM.fullmatch(problem), problem
    else:
        assert isinstance(result, Config)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    """Any text is either a configuration or a ConfigError with a line."""
    try:
        parse_config(text, "bot.yaml", environ={})
    except ConfigError as error:
        assert all(problem.startswith("bot.yaml:") for problem in error.problems)


ANCHORED = """\
gitlab:
  url: https://gitlab.example.com
  project: platform/gitops
x-shared: &shared
  auto_merge: {auto_merge}
  labels: [team::shop]
environments:
  staging:
    <<: *shared
  production:
    <<: *shared
    auto_merge: false
apps:
  web:
    image: registry.example.com/shop/web
    sources: [shop/web]
    environments: [staging, production]
    manifests: [{{path: "apps/{{env}}/web.yaml"}}]
"""


def test_anchors_and_extension_keys() -> None:
    """x- keys hold anchors; merged keys load and local keys override them."""
    config = parse_config(ANCHORED.format(auto_merge="true"), environ={})

    assert config.environment("staging").labels == ("team::shop",)
    assert config.environment("staging").auto_merge is True
    assert config.environment("production").auto_merge is False


def test_errors_in_merged_keys_point_at_the_anchor() -> None:
    """A bad value brought in by a merge is reported at its own line."""
    assert problems_of(ANCHORED.format(auto_merge="maybe")) == [
        "bot.yaml:5: environments.staging.auto_merge: expected true or false, "
        "got 'maybe'"
    ]


def _alias_bomb(levels: int) -> str:
    """``levels`` x- keys, each a list of nine aliases of the one before."""
    lines = ["x-a1: &a1 [x, x, x, x, x, x, x, x, x]"]
    for level in range(2, levels + 1):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"x-a{level}: &a{level} [{aliases}]")
    return "".join(line + "\n" for line in lines)


MINIMAL = ANCHORED.format(auto_merge="true")
BOMB_REFUSED = "aliases expand to more than 100000 nodes; refusing the file"


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    """Nine levels of nine aliases (9**9 nodes) are refused at the crossing key."""
    assert problems_of(_alias_bomb(9) + MINIMAL) == [f"bot.yaml:6: {BOMB_REFUSED}"]


def test_an_alias_bomb_used_by_a_real_key_is_refused() -> None:
    """The bound counts aliases where they are used, not only where anchored."""
    small = _alias_bomb(5)  # 74,732 nodes: under the bound on their own
    text = small + MINIMAL.replace("sources: [shop/web]", "sources: *a5")
    apps_line = text.splitlines().index("apps:") + 1

    assert problems_of(text) == [f"bot.yaml:{apps_line}: {BOMB_REFUSED}"]


def test_a_self_referring_alias_does_not_crash() -> None:
    """An anchor used inside its own node loads or is refused, never crashes."""
    try:
        parse_config("x-loop: &loop [*loop]\n" + MINIMAL, "bot.yaml", environ={})
    except ConfigError as error:
        assert error.problems == (f"bot.yaml:1: {BOMB_REFUSED}",)


def test_a_shared_block_reused_under_many_keys_loads() -> None:
    """An anchored list of windows and labels, reused a few times, is fine."""
    shared = (
        "x-windows: &nights\n"
        "  - {days: [mon, tue, wed, thu, fri], start: '18:00', end: '08:00'}\n"
        "  - {days: [sat, sun], start: '00:00', end: '24:00'}\n"
        "x-labels: &labels [team::shop, tier::web]\n"
    )
    environments = (
        "environments:\n"
        "  staging: {freeze_windows: *nights, labels: *labels}\n"
        "  production: {freeze_windows: *nights, merge_windows: *nights, "
        "labels: *labels}\n"
    )
    text = shared + MINIMAL[: MINIMAL.index("environments:")] + environments
    text += MINIMAL[MINIMAL.index("apps:") :]

    config = parse_config(text, "bot.yaml", environ={})

    production = config.environment("production")
    assert production.labels == ("team::shop", "tier::web")
    assert len(production.freeze_windows) == len(production.merge_windows) == 2
    assert config.environment("staging").freeze_windows == production.freeze_windows
