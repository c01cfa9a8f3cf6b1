"""Property tests over generated YAML with comments and mixed styles."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.manifests import Target, edit

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
WORDS = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)
TEXT = st.text(alphabet="abc XYZ:#-_.é✓", min_size=0, max_size=12)
TAGS = st.one_of(
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,20}", fullmatch=True),
    st.sampled_from(
        ["1.10", "on", "no", "1e3", "null", "0x1F", "012", "1_000", "true"]
    ),
)


@dataclass(frozen=True)
class Scalar:
    """A scalar value and the style it is written in."""

    value: str
    style: str

    def source(self) -> str:
        """Return the value as YAML source in its style."""
        if self.style == "'":
            return "'" + self.value.replace("'", "''") + "'"
        if self.style == '"':
            return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return self.value


def scalars() -> st.SearchStrategy[Scalar]:
    """Plain words, or quoted text with spaces, colons, hashes and non-ASCII."""
    plain = st.builds(Scalar, WORDS, st.just(""))
    quoted = st.builds(Scalar, TEXT, st.sampled_from(["'", '"']))
    return st.one_of(plain, quoted)


@st.composite
def values_files(draw) -> tuple[str, int]:
    """Return a values file holding ``app.image.tag``, and that value's line."""
    indent = " " * draw(st.sampled_from([2, 4]))
    dash = draw(st.sampled_from(["", indent]))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    comment = st.one_of(st.just(""), st.builds(lambda t: f"  # {t}", TEXT))
    lines: list[str] = [f"# {draw(TEXT)}"] if draw(st.booleans()) else []
    target_line = -1

    keys = draw(st.lists(WORDS.filter(lambda k: k != "app"), max_size=6, unique=True))
    position = draw(st.integers(0, len(keys)))
    for number, key in enumerate([*keys[:position], "app", *keys[position:]]):
        if key == "app":
            tag = draw(
                st.builds(
                    Scalar, TAGS.filter(_plain_safe), st.sampled_from(["", "'", '"'])
                )
            )
            lines += ["app:", f"{indent}image:", f"{indent * 2}repository: example/app"]
            target_line = len(lines)
            lines.append(f"{indent * 2}tag: {tag.source()}{draw(comment)}")
            continue
        shape = draw(st.sampled_from(["scalar", "list", "flow", "nested"]))
        lines += _entry(draw, key, shape, indent, dash, comment, number)
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    return text, target_line


def _plain_safe(tag: str) -> bool:
    return tag not in ("null", "on", "no", "true") and not tag[0].isdigit()


def _entry(draw, key, shape, indent, dash, comment, number) -> list[str]:
    if shape == "scalar":
        return [f"{key}: {draw(scalars()).source()}{draw(comment)}"]
    if shape == "flow":
        inner = ", ".join(f"k{i}: {draw(scalars()).source()}" for i in range(2))
        return [f"{key}: {{{inner}}}{draw(comment)}"]
    if shape == "list":
        items = draw(st.lists(scalars(), min_size=1, max_size=3))
        return [f"{key}:"] + [f"{dash}- {item.source()}" for item in items]
    return [
        f"{key}:",
        f"{indent}# note {number}",
        f"{indent}tag: {draw(scalars()).source()}",
    ]


def load(text: str) -> object:
    """Return the data of a YAML text (one document)."""
    return YAML(typ="safe", pure=True).load(text)


@SETTINGS
@given(values_files(), TAGS)
def test_edit_changes_exactly_the_target_scalar(
    file: tuple[str, int], tag: str
) -> None:
    """Only the target value changes, in data and in text; other lines are equal."""
    text, target_line = file

    result = edit(text, "values.yaml", Target("helm", key="app.image.tag"), tag=tag)

    expected = load(text)
    expected["app"]["image"]["tag"] = tag
    assert load(result.text) == expected
    before, after = (
        text.splitlines(keepends=True),
        result.text.splitlines(keepends=True),
    )
    assert len(before) == len(after)
    changed = {
        i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new
    }
    assert changed <= {target_line}


@SETTINGS
@given(values_files(), TAGS)
def test_edit_twice_equals_once(file: tuple[str, int], tag: str) -> None:
    """Applying the same edit to its own result changes nothing."""
    target = Target("helm", key="app.image.tag")
    once = edit(file[0], "values.yaml", target, tag=tag)

    twice = edit(once.text, "values.yaml", target, tag=tag)

    assert twice.text == once.text and not twice.changed


HUB = ("", "docker.io/", "docker.io/library/")
REGISTRIES = (*HUB, "registry.example.com:5000/", "ghcr.io/org/")
NAMES = ("nginx", "redis", "nginx-exporter")
SUFFIXES = ("", ":1.0", ":1.0@sha256:" + "b" * 64, "@sha256:" + "c" * 64)


def same_repository(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Docker Hub spellings are one registry; names match whole."""
    same_registry = a[0] == b[0] or (a[0] in HUB and b[0] in HUB)
    return same_registry and a[1] == b[1]


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(REGISTRIES),
            st.sampled_from(NAMES),
            st.sampled_from(SUFFIXES),
        ),
        min_size=1,
        max_size=5,
    ),
    st.tuples(st.sampled_from(REGISTRIES), st.sampled_from(NAMES)),
    TAGS.filter(lambda tag: tag != "1.0"),
    st.booleans(),
)
def test_manifest_matches_whole_normalised_repositories(
    images, target, tag, in_list
) -> None:
    """Every container of the target repository changes, and nothing else."""
    lines = [
        "kind: Deployment",
        "spec:",
        "  template:",
        "    spec:",
        "      containers:",
    ]
    for number, (registry, name, suffix) in enumerate(images):
        lines += [f"      - name: c{number}  # container {number}"]
        lines += [f"        image: {registry}{name}{suffix}"]
    if in_list:
        lines = ["kind: List", "items:", *(f"  {line}" for line in lines)]
        lines[2] = "- " + lines[2].lstrip()
    text = "\n".join(lines) + "\n"
    request = Target("manifest", image="".join(target))

    matches = [same_repository((r, n), target) for r, n, _ in images]
    if not any(matches):
        return
    result = edit(text, "deploy.yaml", request, tag=tag)

    loaded = load(result.text)
    deployment = loaded["items"][0] if in_list else loaded
    containers = deployment["spec"]["template"]["spec"]["containers"]
    for container, (registry, name, suffix), match in zip(
        containers, images, matches, strict=True
    ):
        expected = f"{registry}{name}:{tag}" if match else f"{registry}{name}{suffix}"
        assert container["image"] == expected
