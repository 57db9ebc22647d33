"""``tether up``'s ``/metrics``: the server's and the controller's families, each once."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from gitserver import RemoteRepo
from prometheus_client.parser import text_string_to_metric_families

from tether.tools import find_tool

TETHER = Path(sys.executable).with_name("tether")

SERVER_FAMILIES = {
    "argocd_app_info": "gauge",
    "argocd_app_sync": "counter",
    "argocd_cluster_info": "gauge",
    "argocd_appset_info": "gauge",
}
CONTROLLER_FAMILIES = {
    "argocd_app_reconcile": "histogram",
    "argocd_app_sync_duration_seconds": "counter",
    "argocd_app_k8s_request": "counter",
    "argocd_app_orphaned_resources_count": "gauge",
    "argocd_appset_reconcile": "histogram",
    "argocd_cluster_connection_status": "gauge",
    "argocd_cluster_api_resource_objects": "gauge",
    "argocd_cluster_api_resources": "gauge",
    "tether_render_cache_hits": "counter",
    "tether_render_cache_misses": "counter",
    "tether_git_fetch_duration_seconds": "histogram",
    "tether_workqueue_depth": "gauge",
    "tether_workqueue_adds": "counter",
}
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"


def application(repo_url: str) -> dict[str, object]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "metered", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "path": "metered", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "metered"},
            "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]},
        },
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_output(process: subprocess.Popen[bytes], marker: str, seconds: float) -> None:
    """Read the output (bounded in time) until it holds ``marker``."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        # Raw reads of the descriptor: a buffered reader would hold lines select() cannot see.
        selector.register(descriptor, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(left):
                continue
            chunk = os.read(descriptor, 65536)
            if not chunk:
                break
            seen += chunk
            if marker.encode() in seen:
                return
    raise AssertionError(f"never saw {marker!r}; output: {seen.decode(errors='replace')}")


def synced(text: str) -> bool:
    """Whether the exposition shows the app's sync finished and its status Synced."""
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    return any(
        s.name == "argocd_app_sync_duration_seconds_total" and s.labels["name"] == "metered"
        for s in samples
    ) and any(
        s.name == "argocd_app_info"
        and s.labels["name"] == "metered"
        and s.labels["sync_status"] == "Synced"
        for s in samples
    )


def scrape_until_synced(port: int, seconds: float) -> str:
    """``/metrics`` once the app's sync shows in it (bounded)."""
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        if synced(text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"the sync never showed in /metrics:\n{text}")


def test_up_serves_server_and_controller_metrics_once(tmp_path: Path, git_repo: RemoteRepo) -> None:
    git_repo.push({"metered/cm.yaml": CONFIGMAP}, "add")
    port = free_port()
    process = subprocess.Popen(
        [str(TETHER), "up", "--no-cli-context", "--data-dir", str(tmp_path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for_output(process, "press Ctrl-C to stop", 90)
        kubectl = [str(find_tool("kubectl")), "--kubeconfig", str(tmp_path / "kubeconfig")]
        subprocess.run(
            [*kubectl, "apply", "-f", "-"],
            input=json.dumps(application(git_repo.url_file)),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        text = scrape_until_synced(port, 60)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0

    declared = Counter(line.split()[2] for line in text.splitlines() if line.startswith("# TYPE "))
    assert [name for name, times in declared.items() if times > 1] == []
    assert "_created" not in text  # as Argo CD's expositions
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, kind in (SERVER_FAMILIES | CONTROLLER_FAMILIES).items():
        assert families[name].type == kind, name
    reconciled = [s for s in families["argocd_app_reconcile"].samples if s.name.endswith("_count")]
    assert [s.labels["namespace"] for s in reconciled] == ["argocd"]
    requests = families["argocd_app_k8s_request"].samples
    assert {"metered"} == {s.labels["name"] for s in requests if s.name.endswith("_total")}
