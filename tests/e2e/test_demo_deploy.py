"""``deploy/``: the Kustomize install of tether into a cluster renders and is accepted."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tether.model.crd import load_crds
from tether.tools import find_tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def kubectl(*args: str, kubeconfig: Path | None = None) -> str:
    config = ["--kubeconfig", str(kubeconfig)] if kubeconfig else []
    return subprocess.run(
        [str(find_tool("kubectl")), *config, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def rendered() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(kubectl("kustomize", str(DEPLOY))) if d]


def test_the_crds_are_the_ones_tether_installs() -> None:
    shipped = {
        c["metadata"]["name"]: c for c in rendered() if c["kind"] == "CustomResourceDefinition"
    }
    for crd in load_crds():
        labels = crd["metadata"].setdefault("labels", {})
        labels["app.kubernetes.io/part-of"] = "tether"  # added by the kustomization
        assert shipped[crd["metadata"]["name"]] == crd


def test_the_controller_and_the_server_run_in_the_control_namespace() -> None:
    objects = rendered()
    deployments = {d["metadata"]["name"]: d for d in objects if d["kind"] == "Deployment"}
    commands = {
        name: d["spec"]["template"]["spec"]["containers"][0]["args"][0]
        for name, d in deployments.items()
    }
    assert commands == {"tether-controller": "controller", "tether-server": "server"}
    namespaced = [o for o in objects if o["kind"] not in CLUSTER_SCOPED]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"argocd"}
    service = next(o for o in objects if o["kind"] == "Service")
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "tether-server"}


CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}


def test_the_cluster_accepts_every_object(local_cluster: Any, tmp_path: Path) -> None:
    config = local_cluster.kubeconfig
    kubectl("create", "namespace", "argocd", kubeconfig=config)
    manifests = tmp_path / "tether.yaml"
    manifests.write_text(kubectl("kustomize", str(DEPLOY)))
    applied = kubectl(
        "apply", "--dry-run=server", "--server-side", "-f", str(manifests), kubeconfig=config
    )
    lines = [line for line in applied.splitlines() if line]
    assert len(lines) == len(rendered())
    assert all(line.endswith("(server dry run)") for line in lines), applied
