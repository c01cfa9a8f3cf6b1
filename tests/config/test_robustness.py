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
