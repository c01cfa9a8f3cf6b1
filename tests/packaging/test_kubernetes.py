"""The Kubernetes manifests in config/kubernetes fit together."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from bot.config import load_config
from tests.conftest import ROOT

KUBERNETES = ROOT / "config" / "kubernetes"


def _load(name: str) -> dict:
    return YAML(typ="safe").load((KUBERNETES / name).read_text())


@pytest.fixture(scope="module")
def kustomization() -> dict:
    return _load("kustomization.yaml")


@pytest.fixture(scope="module")
def deployment() -> dict:
    return _load("deployment.yaml")


def _container(deployment: dict) -> dict:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_every_file_parses_and_the_kustomization_lists_existing_files(
    kustomization: dict,
) -> None:
    """Each resource and generated file named by the kustomization exists."""
    for path in KUBERNETES.glob("*.yaml"):
        assert YAML(typ="safe").load_all(path.read_text())
    for resource in kustomization["resources"]:
        assert (KUBERNETES / resource).is_file(), resource
    for generator in kustomization["configMapGenerator"]:
        for entry in generator["files"]:
            assert (KUBERNETES / entry.split("=")[-1]).is_file(), entry


def test_mounted_configuration_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The configuration shipped in the ConfigMap passes the bot's own checks."""
    monkeypatch.delenv("GITOPS_BOT_GITLAB_URL", raising=False)
    config = load_config(KUBERNETES / "bot.yaml")
    assert config.apps


def test_deployment_references_resolve(kustomization: dict, deployment: dict) -> None:
    """ConfigMap, Secret keys and the config path agree across the files."""
    secret = _load("secret.example.yaml")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    container = _container(deployment)
    generated = {g["name"] for g in kustomization["configMapGenerator"]}

    assert volumes["config"]["configMap"]["name"] in generated
    for variable in container["env"]:
        ref = variable.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["name"] == secret["metadata"]["name"]
            assert ref["key"] in secret["stringData"]
    config_path = {v["name"]: v["value"] for v in container["env"] if "value" in v}
    mount = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}["config"]
    assert config_path["GITOPS_BOT_CONFIG"] == f"{mount}/bot.yaml"


def test_probes_and_hardening(deployment: dict) -> None:
    """Probes hit /healthz and /readyz; the root filesystem is read-only."""
    container = _container(deployment)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
    assert "limits" in container["resources"]


def test_service_selects_the_pods_on_the_named_port(deployment: dict) -> None:
    """The Service's selector and target port match the Deployment's pods."""
    service = _load("service.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    ports = {p["name"] for p in _container(deployment)["ports"]}

    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports
