"""``--kind auto``: the content first, then the file name, then the shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.manifests.detect import Detected, detect
from bot.manifests.yamltext import parse

IMAGE = "registry.example.com/shop/web"
KUSTOMIZATION = f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
  - name: {IMAGE}
    newTag: v1.0.0
"""
KIND_ONLY = f"kind: Kustomization\nimages:\n  - name: {IMAGE}\n    newTag: v1\n"
IMAGES_ONLY = f"resources: [a.yaml]\nimages:\n  - name: {IMAGE}\n    newTag: v1\n"
FLUX_KUSTOMIZATION = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
spec:
  path: ./apps
"""
DEPLOYMENT = f"""\
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: web
          image: {IMAGE}:v1
"""
DEPLOYMENT_IN_LIST = f"""\
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  spec:
    template:
      spec:
        containers:
          - name: web
            image: {IMAGE}:v1
"""
SERVICES_IN_LIST = "kind: List\nitems:\n- kind: Service\n  spec: {}\n"
KINDLESS_IN_DEPLOYMENT_LIST = (
    "kind: DeploymentList\nitems:\n- spec:\n    template: {}\n"
)
DEFAULT = "no sign of another kind"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "k.yaml",
            KUSTOMIZATION,
            Detected("kustomize", "apiVersion kustomize.config.k8s.io/v1beta1"),
        ),
        ("k.yaml", KIND_ONLY, Detected("kustomize", "kind Kustomization")),
        (
            "k.yaml",
            IMAGES_ONLY,
            Detected("kustomize", "an images: list of name/newTag entries"),
        ),
        ("kustomization.yaml", "resources: [a.yaml]\n", None),
        ("kustomization.yaml", DEPLOYMENT, Detected("manifest", "kind Deployment")),
        ("k.yaml", FLUX_KUSTOMIZATION, Detected("helm", DEFAULT)),
        ("values.yaml", "images: [web, api]\n", Detected("helm", DEFAULT)),
        ("values.yaml", "images:\n  - name: web\n", Detected("helm", DEFAULT)),
        (
            "app.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\n",
            Detected("argocd", "kind Application"),
        ),
        ("app.yaml", DEPLOYMENT, Detected("manifest", "kind Deployment")),
        (
            "app.yaml",
            DEPLOYMENT_IN_LIST,
            Detected("manifest", "kind Deployment in the items of a List"),
        ),
        (
            "app.yaml",
            KINDLESS_IN_DEPLOYMENT_LIST,
            Detected("manifest", "kind Deployment in the items of a DeploymentList"),
        ),
        ("app.yaml", SERVICES_IN_LIST, Detected("helm", DEFAULT)),
    ],
)
def test_detection_order(name: str, text: str, expected: Detected | None) -> None:
    """apiVersion/kind decide first, then the name, then the images: list."""
    found = detect(parse(text, name))

    assert found == (expected or Detected("kustomize", f"file name {name}"))


def test_bump_edits_a_kustomization_by_its_content(tmp_path: Path, capsys) -> None:
    """``bump k.yaml --image X`` edits a kustomization whatever its name."""
    path = tmp_path / "k.yaml"
    path.write_text(KUSTOMIZATION)

    status = main(["bump", str(path), "--image", IMAGE, "--tag", "v2.0.0"])

    assert status == 0, capsys.readouterr().err
    assert path.read_text() == KUSTOMIZATION.replace("v1.0.0", "v2.0.0")


@pytest.mark.parametrize(
    ("text", "argv", "message"),
    [
        (
            "replicas: 2\nimage:\n  tag: v1\n",
            ["--image", IMAGE],
            "helm values need --key DOTTED.PATH, the path of the value to set "
            "(e.g. --key image.tag); the file was taken as Helm values because "
            "nothing in it marks another kind: no apiVersion/kind of a "
            "kustomization, a workload or an Argo CD Application, no top-level "
            'images: list of name/newTag entries, no "$imagepolicy" comment, and '
            "its name is not kustomization.yaml or .argocd-source*; for another "
            "kind of file, pass --kind",
        ),
        (
            DEPLOYMENT,
            ["--key", "spec.replicas", "--kind", "kustomize"],
            "kustomize files need --image NAME (kind kustomize from --kind kustomize)",
        ),
        (
            KUSTOMIZATION,
            ["--key", "images[0].newTag", "--kind", "manifest"],
            "manifests need --image REPOSITORY (kind manifest from --kind manifest)",
        ),
    ],
)
def test_flags_that_do_not_fit_say_which_kind_and_why(
    tmp_path: Path, capsys, text: str, argv: list[str], message: str
) -> None:
    """A refusal for missing flags names the kind and what decided it."""
    path = tmp_path / "k.yaml"
    path.write_text(text)
    status = main(["bump", str(path), *argv, "--tag", "v2"])
    err = capsys.readouterr().err

    assert status == 2
    assert err == f"gitops-bot bump: {path}: {message}\n"
    assert path.read_text() == text


def test_a_multi_document_kustomization_is_refused(tmp_path: Path, capsys) -> None:
    """Kustomize files are one document: a second one is refused, none edited."""
    text = KUSTOMIZATION + "---\n" + KUSTOMIZATION
    path = tmp_path / "k.yaml"
    path.write_text(text)

    status = main(["bump", str(path), "--image", IMAGE, "--tag", "v2.0.0"])

    assert status == 2
    assert capsys.readouterr().err == (
        f"gitops-bot bump: {path}: a kustomization is one YAML document; this file has "
        "2 (starting at lines 1, 6); split it, or pass --kind for the kind of "
        "file it is\n"
    )
    assert path.read_text() == text
