"""The controller's metrics, scraped after real work against the local cluster."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from appmanifests import IN_CLUSTER, NAMESPACE, application, configmap, project
from controllerharness import Harness
from controllerprocess import ControllerProcess
from gitserver import RemoteRepo
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tether.controller import ApplicationController
from tether.controller.appsets.reconciler import ApplicationSetReconciler
from tether.controller.metrics import (
    K8S_REQUEST_LABELS,
    RECONCILE_BUCKETS,
    AppRef,
    ControllerMetrics,
    acting_for,
)
from tether.kube import KubeClient, load_kubeconfig
from tether.kube.client import RequestRecord
from tether.source import GitCache, SourceError
from tether.source.urls import parse_repo_url

Families = dict[str, tuple[str, list[Sample]]]


def scrape(registry: CollectorRegistry) -> Families:
    """Every family of the exposition: name → (type, samples)."""
    text = generate_latest(registry).decode()
    return {f.name: (f.type, f.samples) for f in text_string_to_metric_families(text)}


def samples(families: Families, sample_name: str, **labels: str) -> list[Sample]:
    """Samples named ``sample_name`` whose labels include ``labels``."""
    return [
        s
        for _, found in families.values()
        for s in found
        if s.name == sample_name and labels.items() <= s.labels.items()
    ]


def value(families: Families, sample_name: str, **labels: str) -> float:
    """The sum of the matching samples (0 when there are none)."""
    return sum(s.value for s in samples(families, sample_name, **labels))


async def eventually(registry: CollectorRegistry, check: Callable[[Families], bool]) -> Families:
    """Scrape until ``check`` holds (bounded)."""
    families = scrape(registry)
    try:
        async with asyncio.timeout(30):
            while not check(families):
                await asyncio.sleep(0.05)
                families = scrape(registry)
    except TimeoutError:
        shown = generate_latest(registry).decode()
        raise AssertionError(f"the metrics never matched; last scrape:\n{shown}") from None
    return families


@dataclass
class Metered:
    harness: Harness
    registry: CollectorRegistry
    metrics: ControllerMetrics
    controller: ApplicationController
    git: GitCache


@pytest.fixture
async def metered(
    management: Harness, local_cluster: Any, tmp_path: Path
) -> AsyncIterator[Metered]:
    """A controller reporting to a registry, its management client observed."""
    registry = CollectorRegistry()
    metrics = ControllerMetrics(registry)
    config = load_kubeconfig(local_cluster.kubeconfig)
    async with KubeClient(config, observer=metrics.request_observer(IN_CLUSTER)) as client:
        git = GitCache(tmp_path / "git")
        controller = ApplicationController(
            client, git, namespace=NAMESPACE, poll_interval=0.05, metrics=metrics
        )
        async with asyncio.timeout(30):
            await controller.start()
        try:
            yield Metered(management, registry, metrics, controller, git)
        finally:
            await controller.close()


def test_requests_are_counted_only_for_the_app_being_worked_on() -> None:
    registry = CollectorRegistry()
    observe = ControllerMetrics(registry).request_observer("https://prod.example.com")
    observe(RequestRecord("get", "ConfigMap", "web", 200, False))
    with acting_for(AppRef("argocd", "web", "team")):
        observe(RequestRecord("patch", "ConfigMap", "web", 200, True))
        observe(RequestRecord("patch", "ConfigMap", "web", 200, True))
        observe(RequestRecord("delete", "Secret", "", 0, False))
    with acting_for(None):
        observe(RequestRecord("get", "ConfigMap", "web", 200, False))
    families = scrape(registry)
    kind, counted = families["argocd_app_k8s_request"]
    assert kind == "counter"
    totals = {
        (s.labels["verb"], s.labels["resource_kind"], s.labels["dry_run"]): s.value
        for s in counted
        if s.name == "argocd_app_k8s_request_total"
    }
    assert totals == {("Patch", "ConfigMap", "true"): 2.0, ("Delete", "Secret", "false"): 1.0}
    (deleted,) = samples(families, "argocd_app_k8s_request_total", verb="Delete")
    assert deleted.labels == {
        "namespace": "argocd",
        "name": "web",
        "project": "team",
        "server": "https://prod.example.com",
        "response_code": "0",
        "verb": "Delete",
        "resource_kind": "Secret",
        "resource_namespace": "",
        "dry_run": "false",
    }
    assert set(deleted.labels) == set(K8S_REQUEST_LABELS)


async def test_a_sync_is_measured_counted_and_attributed(metered: Metered) -> None:
    h, registry = metered.harness, metered.registry
    name = h.new_app_name()
    namespace = f"{name}-ns"
    destinations = [{"server": "*", "namespace": "*"}, {"name": "*", "namespace": "*"}]
    await h.client.apply(
        project(f"{name}-proj", destinations=destinations, orphanedResources={"warn": True})
    )
    h.repo.push({f"{name}/cm.yaml": configmap("settings")}, "add")
    await h.client.apply(
        application(
            name, h.repo.url_file, namespace, path=name, project=f"{name}-proj", automated={}
        )
    )
    await h.wait_app(name, h.settled)
    for stray in ("stray-a", "stray-b"):
        metadata = {"name": stray, "namespace": namespace}
        await h.client.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata})
    # Naming the same destination differently renders again (the controller's per-app
    # memo misses) with the same render inputs: the render cache answers.
    await h.client.patch(
        "argoproj.io/v1alpha1",
        "Application",
        name,
        NAMESPACE,
        {"spec": {"destination": {"server": None, "name": "in-cluster"}}},
    )

    app = {"namespace": NAMESPACE, "name": name, "project": f"{name}-proj"}
    families = await eventually(
        registry,
        lambda f: (
            value(f, "argocd_app_orphaned_resources_count", **app) == 2
            and value(f, "tether_render_cache_hits_total") > 0
            and bool(samples(f, "argocd_cluster_connection_status", server=IN_CLUSTER))
        ),
    )

    # Every refresh is in the reconcile histogram, with Argo CD's buckets and labels.
    assert families["argocd_app_reconcile"][0] == "histogram"
    (count,) = samples(families, "argocd_app_reconcile_count", dest_server=IN_CLUSTER)
    assert count.labels == {"namespace": NAMESPACE, "dest_server": IN_CLUSTER}
    assert count.value >= 2
    bounds = {
        s.labels["le"] for s in samples(families, "argocd_app_reconcile_bucket", **count.labels)
    }
    assert bounds == {str(b) for b in RECONCILE_BUCKETS} | {"+Inf"}

    # The sync's requests carry the app's labels; its dry run says so.
    requests = samples(families, "argocd_app_k8s_request_total", name=name)
    assert {s.labels["project"] for s in requests} == {f"{name}-proj"}
    dry = samples(
        families, "argocd_app_k8s_request_total", name=name, resource_kind="ConfigMap", verb="Patch"
    )
    assert {s.labels["dry_run"] for s in dry} == {"true", "false"}
    assert all(s.labels["resource_namespace"] == namespace for s in dry)
    assert all(s.labels["server"] == IN_CLUSTER for s in requests)
    # The live cache's lists serve every app: they are nobody's.
    assert not samples(families, "argocd_app_k8s_request_total", verb="List", resource_kind="Pod")
    codes = {s.labels["response_code"] for s in requests}
    assert {"200", "201"} <= codes  # reads and writes, the namespace and object created
    assert all(code.isdigit() for code in codes)

    assert families["argocd_app_sync_duration_seconds"][0] == "counter"
    (duration,) = samples(families, "argocd_app_sync_duration_seconds_total", name=name)
    assert duration.labels == app | {"dest_server": IN_CLUSTER}
    assert duration.value >= 0

    # What the controller's state holds at scrape time.
    assert families["argocd_app_orphaned_resources_count"][0] == "gauge"
    (connected,) = samples(families, "argocd_cluster_connection_status", server=IN_CLUSTER)
    assert connected.value == 1
    assert connected.labels["k8s_version"].startswith("v1.")
    assert value(families, "argocd_cluster_api_resource_objects", server=IN_CLUSTER) > 0
    assert value(families, "argocd_cluster_api_resources", server=IN_CLUSTER) > 0
    assert value(families, "tether_render_cache_misses_total") >= 1
    depths = {s.labels["queue"] for s in samples(families, "tether_workqueue_depth")}
    assert depths == {"refresh", "operation"}
    assert value(families, "tether_workqueue_adds_total", queue="refresh") >= 2
    assert value(families, "tether_workqueue_adds_total", queue="operation") >= 1

    # Git refreshes are timed per repository, named without credentials.
    repo = parse_repo_url(h.repo.url_file).normalized
    assert value(families, "tether_git_fetch_duration_seconds_count", repo=repo) >= 1

    # A deleted app's orphan count goes with it.
    await h.client.delete("argoproj.io/v1alpha1", "Application", name, NAMESPACE)
    await eventually(
        registry, lambda f: not samples(f, "argocd_app_orphaned_resources_count", name=name)
    )


@pytest.mark.parametrize(
    ("url_of", "refreshes", "failed"),
    [
        (lambda repo: repo.url_http_with_credentials, 2, False),
        (lambda repo: f"http://127.0.0.1:{closed_port()}/missing.git", 1, True),
    ],
    ids=["credentials-in-url", "unreachable"],
)
async def test_git_refreshes_are_timed_without_credentials(
    git_repo: RemoteRepo,
    tmp_path: Path,
    url_of: Callable[[RemoteRepo], str],
    refreshes: int,
    failed: bool,
) -> None:
    git_repo.push({"a.yaml": configmap("a")}, "add")
    url = url_of(git_repo)
    registry = CollectorRegistry()
    metrics = ControllerMetrics(registry)
    git = GitCache(tmp_path / "git", fetch_timeout=10)
    metrics.watch_git(git)
    metrics.watch_git(git)  # bound twice, timed once
    for _ in range(refreshes):  # the second finds the refs unchanged: no fetch, still timed
        if failed:
            with pytest.raises(SourceError):
                await git.refresh(url)
        else:
            await git.refresh(url)
    families = scrape(registry)
    (count,) = samples(families, "tether_git_fetch_duration_seconds_count")
    assert count.value == refreshes
    assert count.labels == {"repo": parse_repo_url(url).normalized}
    assert "@" not in count.labels["repo"]
    metrics.unwatch_git(git)
    with contextlib.suppress(SourceError):
        await git.refresh(url)
    assert value(scrape(registry), "tether_git_fetch_duration_seconds_count") == refreshes


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_cluster_reports_status_0(metered: Metered) -> None:
    h, registry = metered.harness, metered.registry
    server = f"https://127.0.0.1:{closed_port()}"
    config = json.dumps({"bearerToken": "t", "tlsClientConfig": {"insecure": True}})
    await h.client.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "gone-cluster",
                "namespace": NAMESPACE,
                "labels": {"argocd.argoproj.io/secret-type": "cluster"},
            },
            "data": {
                k: base64.b64encode(v.encode()).decode()
                for k, v in {"name": "gone", "server": server, "config": config}.items()
            },
        }
    )
    name = h.new_app_name()
    h.repo.push({f"{name}/cm.yaml": configmap("settings")}, "add")
    await h.client.apply(application(name, h.repo.url_file, "far", path=name, server=server))
    families = await eventually(
        registry, lambda f: bool(samples(f, "argocd_cluster_connection_status", server=server))
    )
    (gone,) = samples(families, "argocd_cluster_connection_status", server=server)
    assert (gone.value, gone.labels["k8s_version"]) == (0, "")
    assert value(families, "argocd_cluster_api_resource_objects", server=server) == 0
    # No application uses the management cluster here: its status is Unknown, not shown.
    assert not samples(families, "argocd_cluster_connection_status", server=IN_CLUSTER)


async def test_applicationset_passes_are_observed(metered: Metered) -> None:
    h, registry = metered.harness, metered.registry
    name = h.new_app_name()
    appsets = ApplicationSetReconciler(h.client, NAMESPACE, metered.git, metrics=metered.metrics)
    await appsets.start()
    try:
        await h.client.apply(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "ApplicationSet",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "spec": {
                    "generators": [{"list": {"elements": [{"env": "dev"}]}}],
                    "template": {
                        "metadata": {"name": f"{name}-{{{{env}}}}"},
                        "spec": application(name, h.repo.url_file, "dev", path=name)["spec"],
                    },
                },
            }
        )
        families = await eventually(
            registry,
            lambda f: value(f, "argocd_appset_reconcile_count", name=name) >= 1,
        )
    finally:
        await appsets.close()
    assert families["argocd_appset_reconcile"][0] == "histogram"
    (count,) = samples(families, "argocd_appset_reconcile_count", name=name)
    assert count.labels == {"name": name, "namespace": NAMESPACE}


@pytest.mark.parametrize("taken", [False, True], ids=["free-port", "taken-port"])
async def test_tether_controller_serves_its_metrics(
    management: Harness, local_cluster: Any, tmp_path: Path, taken: bool
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = int(holder.getsockname()[1])
        if taken:
            holder.listen()
        else:
            holder.close()
        controller = ControllerProcess(
            local_cluster.kubeconfig, tmp_path / "controller", args=("--metrics-port", str(port))
        )
        await asyncio.to_thread(controller.start)
        try:
            log = controller.log_path.read_text()
            if taken:
                # Another replica holds the port: the controller runs on without /metrics.
                assert f"failed to serve metrics on 127.0.0.1:{port}" in log
                return
            assert f"metrics at http://127.0.0.1:{port}/metrics" in log
            async with httpx.AsyncClient() as http:
                response = await http.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        finally:
            await asyncio.to_thread(controller.stop)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    kinds = {f.name: f.type for f in text_string_to_metric_families(response.text)}
    assert kinds["argocd_app_reconcile"] == "histogram"
    assert kinds["tether_workqueue_depth"] == "gauge"
    assert "argocd_app_info" not in kinds  # the API server's, scraped there
    assert "_created" not in response.text
