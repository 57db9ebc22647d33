"""Round trips through a real server-side apply (the local cluster, driven by kubectl).

The local prediction must agree with what the API server actually does: a manifest
just applied is in sync with what the server stored (defaults and all); fields tether
stops declaring are reported, and the server's dry run and the real apply confirm
they go; fields another manager owns are left alone.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tether.diff import Differ, DiffState, ResourceDiff, parse_ignore_differences
from tether.tools import find_tool

pytestmark = pytest.mark.timeout(120)


class Kubectl:
    """The real kubectl against one cluster, with a bounded run per call."""

    def __init__(self, kubeconfig: str) -> None:
        self.base = [str(find_tool("kubectl")), "--kubeconfig", kubeconfig, "-n", "default"]

    def run(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [*self.base, *args], input=stdin, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def apply(self, manifest: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        args = ["apply", "--server-side", "--field-manager=tether", "-f", "-", "-o", "json"]
        if dry_run:
            args.append("--dry-run=server")
        applied: dict[str, Any] = json.loads(self.run(*args, stdin=json.dumps(manifest)))
        return applied

    def get(self, kind: str, name: str) -> dict[str, Any]:
        live: dict[str, Any] = json.loads(
            self.run("get", kind, name, "-o", "json", "--show-managed-fields")
        )
        return live


def deployment(name: str, *, image: str, labels: dict[str, str], env: list[Any]) -> Any:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "ports": [{"containerPort": 8080}],
                            "env": env,
                            "resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}},
                        }
                    ]
                },
            },
        },
    }


@pytest.fixture(scope="module")
def kubectl(cluster: Any) -> Kubectl:
    return Kubectl(str(cluster.kubeconfig))


def test_prediction_agrees_with_server_side_apply(kubectl: Kubectl) -> None:
    before = deployment(
        "roundtrip",
        image="nginx:1.25",
        labels={"app": "roundtrip", "tier": "frontend"},
        env=[{"name": "MODE", "value": "prod"}, {"name": "DEBUG", "value": "1"}],
    )
    kubectl.apply(before)
    live = kubectl.get("deployment", "roundtrip")
    assert Differ().compare(before, live).state is DiffState.SYNCED

    after = deployment(
        "roundtrip",
        image="nginx:1.27",
        labels={"app": "roundtrip"},
        env=[{"name": "MODE", "value": "prod"}],
    )
    local = Differ().compare(after, live)
    server = Differ().compare(after, live, predicted=kubectl.apply(after, dry_run=True))
    expected_paths = (
        "/metadata/labels/tier",
        "/spec/template/spec/containers/0/env/1",
        "/spec/template/spec/containers/0/image",
    )
    assert local.state is server.state is DiffState.OUT_OF_SYNC
    assert local.paths == server.paths == expected_paths

    kubectl.apply(after)
    applied = Differ().compare(after, kubectl.get("deployment", "roundtrip"))
    assert applied.state is DiffState.SYNCED
    assert local.predicted is not None
    assert applied.live is not None
    for part in ("spec", "metadata"):
        assert _without_revision(local.predicted[part]) == _without_revision(applied.live[part])


def _without_revision(part: dict[str, Any]) -> dict[str, Any]:
    """The revision annotation is the workload controller's, bumped by every rollout."""
    annotations = dict(part.get("annotations") or {})
    annotations.pop("deployment.kubernetes.io/revision", None)
    return {**part, "annotations": annotations}


def test_fields_owned_by_another_manager_are_not_differences(kubectl: Kubectl) -> None:
    manifest = deployment(
        "shared", image="nginx:1.25", labels={"app": "shared"}, env=[{"name": "A", "value": "1"}]
    )
    kubectl.apply(manifest)
    kubectl.run("label", "deployment", "shared", "owner=alice")
    kubectl.run("scale", "deployment", "shared", "--replicas=4")

    live = kubectl.get("deployment", "shared")
    result = Differ().compare(manifest, live)

    # The label is someone else's; replicas is still declared, and the scale changed it.
    assert result.state is DiffState.OUT_OF_SYNC
    assert result.paths == ("/spec/replicas",)
    # Trusting the manager that scaled (as for an autoscaler) leaves replicas to it.
    rules = parse_ignore_differences(
        [{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["kubectl"]}]
    )
    assert Differ(ignore=rules).compare(manifest, live).state is DiffState.SYNCED


MANIFESTS = {
    "service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "clusterIP": "",
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
        },
    },
    "secret": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        "stringData": {"password": "correct-horse"},
    },
    "configmap": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default", "labels": {}},
        "data": {"mode": "prod"},
    },
}


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_what_the_server_stored_is_in_sync(
    kubectl: Kubectl, name: str, assert_no_leak: Callable[[list[str], ResourceDiff], None]
) -> None:
    manifest = MANIFESTS[name]
    kubectl.apply(manifest)
    live = kubectl.get(manifest["kind"], manifest["metadata"]["name"])
    result = Differ().compare(manifest, live)
    assert result.state is DiffState.SYNCED, result.diff
    assert_no_leak(["correct-horse"], result)
