"""The real kubectl against ``tether local-cluster serve --pod-ready-seconds 0``.

The flows a user runs every day: a rollout that completes, a rolling update with old
and new ReplicaSets, waiting for a Job, a bad image that leaves a rollout stuck, and
garbage collection of a deleted Deployment's ReplicaSets and Pods.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.localcluster.simulation.harness import TESTDATA

from tether.localcluster.launcher import LocalClusterProcess
from tether.tools import find_tool

KUBECTL = str(find_tool("kubectl"))
Obj = dict[str, Any]


class Kubectl:
    """kubectl in one namespace of the served cluster."""

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace

    def run(
        self, *args: str, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [KUBECTL, "--kubeconfig", str(self.kubeconfig), "-n", self.namespace, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def get(self, *args: str) -> Obj:
        data: Obj = json.loads(self.run("get", *args, "-o", "json").stdout)
        return data

    def until(self, check: Callable[[], bool], what: str, seconds: float = 15) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalClusterProcess]:
    process = LocalClusterProcess(
        tmp_path_factory.mktemp("simulated-cluster"), extra_args=("--pod-ready-seconds", "0")
    ).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def kubectl(server: LocalClusterProcess) -> Kubectl:
    namespace = f"sim-{uuid.uuid4().hex[:8]}"
    client = Kubectl(server.kubeconfig, namespace)
    subprocess.run(
        [KUBECTL, "--kubeconfig", str(server.kubeconfig), "create", "namespace", namespace],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return client


def test_rollout_status_completes(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "deployment-web.yaml"))
    result = kubectl.run("rollout", "status", "deployment/web", "--timeout=30s", timeout=40)
    assert 'deployment "web" successfully rolled out' in result.stdout
    pods = kubectl.get("pods", "-l", "app=web")["items"]
    assert len(pods) == 3
    assert all(p["status"]["phase"] == "Running" for p in pods)


def test_a_rolling_update_shows_old_and_new_replicasets(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "deployment-web.yaml"))
    kubectl.run("rollout", "status", "deployment/web", "--timeout=30s", timeout=40)
    kubectl.run("set", "image", "deployment/web", "nginx=nginx:1.28")
    result = kubectl.run("rollout", "status", "deployment/web", "--timeout=30s", timeout=40)
    assert "successfully rolled out" in result.stdout
    replicasets = kubectl.get("replicasets", "-l", "app=web")["items"]
    by_revision = {
        r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: r for r in replicasets
    }
    assert set(by_revision) == {"1", "2"}
    assert (by_revision["1"]["spec"]["replicas"], by_revision["2"]["spec"]["replicas"]) == (0, 3)
    history = kubectl.run("rollout", "history", "deployment/web").stdout
    assert "1" in history
    assert "2" in history
    images = {
        p["spec"]["containers"][0]["image"] for p in kubectl.get("pods", "-l", "app=web")["items"]
    }
    assert images == {"nginx:1.28"}


def test_wait_for_a_job_to_complete(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "job-pi.yaml"))
    result = kubectl.run("wait", "--for=condition=complete", "job/pi", "--timeout=30s", timeout=40)
    assert "condition met" in result.stdout
    assert kubectl.get("job", "pi")["status"]["succeeded"] == 3


def test_a_bad_image_leaves_the_rollout_stuck(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "deployment-badimage.yaml"))
    stuck = kubectl.run(
        "rollout", "status", "deployment/broken", "--timeout=3s", check=False, timeout=20
    )
    assert stuck.returncode != 0
    assert "0 of 2 updated replicas are available" in stuck.stdout

    def backing_off() -> bool:
        pods = kubectl.get("pods", "-l", "app=broken")["items"]
        reasons = [
            c["state"].get("waiting", {}).get("reason")
            for p in pods
            for c in p["status"].get("containerStatuses", [])
        ]
        return len(reasons) == 2 and set(reasons) == {"ImagePullBackOff"}

    kubectl.until(backing_off, "ImagePullBackOff")


def test_deleting_a_deployment_collects_its_replicasets_and_pods(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "deployment-web.yaml"))
    kubectl.run("rollout", "status", "deployment/web", "--timeout=30s", timeout=40)
    kubectl.run("delete", "deployment", "web")
    kubectl.until(
        lambda: not kubectl.get("replicasets")["items"] and not kubectl.get("pods")["items"],
        "the ReplicaSets and Pods to be collected",
    )
