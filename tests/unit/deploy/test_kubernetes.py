"""The Kubernetes manifests: rendered with kubectl's built-in kustomize, validated against
the Kubernetes schemas (kubernetes-validate), and checked for what Polyvox relies on."""

from __future__ import annotations

import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

from .conftest import ROOT, is_setting, tool, unknown_flags

KUBERNETES_VERSION = "1.37.0"
KUSTOMIZATIONS = ["base", "overlays/gpu"]


def render(kustomization: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(ROOT / "deploy" / "kubernetes" / kustomization)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return list(deployment["spec"]["template"]["spec"]["containers"])


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_resource_is_valid(kustomization: str) -> None:
    docs = render(kustomization)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_probes_resources_and_settings(kustomization: str) -> None:
    docs = render(kustomization)
    deployments = by_kind(docs, "Deployment")
    gateway = containers(deployments["polyvox-gateway"])[0]
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    workers = [d for d in deployments.values() if "polyvox.dev/engine" in _labels(d)]
    assert workers
    for worker in workers:
        container = containers(worker)[0]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"]["port"] == 50051  # grpc.health.v1
        names = [item["name"] for item in container["env"]]
        # Beyond loopback, so the link is secured.
        assert "POLYVOX_WORKER_LINK_TOKEN" in names
        # $(POD_IP) is expanded only from variables listed before it.
        assert names.index("POD_IP") < names.index("POLYVOX_WORKER_ADVERTISE")
    for deployment in deployments.values():
        for container in containers(deployment):
            assert container["resources"]["requests"], deployment["metadata"]["name"]
            polyvox_env = [e["name"] for e in container.get("env", []) if "POLYVOX" in e["name"]]
            assert [name for name in polyvox_env if not is_setting(name)] == []
            if container.get("args", [""])[0] == "polyvox":
                assert unknown_flags(container["args"]) == []


def _labels(deployment: dict[str, Any]) -> dict[str, str]:
    return dict(deployment["spec"]["template"]["metadata"]["labels"])


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_disruption_budgets_and_autoscalers_point_at_what_exists(kustomization: str) -> None:
    docs = render(kustomization)
    deployments = by_kind(docs, "Deployment")
    covered = set()
    for budget in by_kind(docs, "PodDisruptionBudget").values():
        selector = budget["spec"]["selector"]["matchLabels"]
        matching = [n for n, d in deployments.items() if selector.items() <= _labels(d).items()]
        assert len(matching) == 1, budget["metadata"]["name"]
        covered.update(matching)
    assert covered == {name for name in deployments if name != "polyvox-redis"}
    for service in by_kind(docs, "Service").values():
        selector = service["spec"]["selector"]
        assert any(selector.items() <= _labels(d).items() for d in deployments.values())
    autoscalers = by_kind(docs, "HorizontalPodAutoscaler")
    assert autoscalers
    metrics_source = (ROOT / "src" / "polyvox" / "gateway" / "metrics.py").read_text()
    for autoscaler in autoscalers.values():
        assert autoscaler["spec"]["scaleTargetRef"]["name"] in deployments
        for metric in autoscaler["spec"]["metrics"]:
            name = metric["external"]["metric"]["name"]
            # A metric the gateways export (polyvox_worker_* families get their prefix there).
            assert f'"{name}"' in metrics_source or f'"{name.removeprefix("polyvox_worker_")}"' in (
                metrics_source
            ), name


def test_the_secret_every_pod_reads_is_the_one_the_docs_create() -> None:
    docs = render("overlays/gpu")
    refs = {
        (item["valueFrom"]["secretKeyRef"]["name"], item["valueFrom"]["secretKeyRef"]["key"])
        for deployment in by_kind(docs, "Deployment").values()
        for container in containers(deployment)
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    assert refs == {("polyvox-link", "token")}
    docs_text = (ROOT / "docs" / "deploy.md").read_text()
    assert "kubectl create secret generic polyvox-link --from-literal=token=" in docs_text
