"""``/metrics``: Argo CD's metric names and labels, computed from the cluster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from serverharness import Harness, application, load_fixture, running_server

from tether.controller.metrics import ControllerMetrics
from tether.kube import KubeClient
from tether.model import API_VERSION

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def metered(kube: KubeClient) -> AsyncIterator[tuple[Harness, CollectorRegistry]]:
    registry = CollectorRegistry()
    # What tether up does: the controller's metrics share the registry and appear too.
    ControllerMetrics(registry).observe_reconcile(application("web", namespace="argocd"), 0.3)
    async with running_server(kube, registry=registry) as harness:
        yield harness, registry


async def scrape(h: Harness) -> dict[str, list[Sample]]:
    response = await h.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


async def set_status(h: Harness, name: str, status: dict[str, object]) -> None:
    updated = await h.kube.patch(API_VERSION, "Application", name, h.namespace, {"status": status})
    h.app.state.context.apps.observe(updated)


def operation_state(phase: str, finished: str) -> dict[str, object]:
    return {
        "operationState": {
            "phase": phase,
            "operation": {"sync": {"revision": "abc"}},
            "startedAt": "2026-11-20T00:00:00Z",
            "finishedAt": finished,
        }
    }


async def test_app_info_cluster_info_and_appset_info(
    metered: tuple[Harness, CollectorRegistry],
) -> None:
    h, _ = metered
    auto = application("web", project="default")
    auto["spec"]["syncPolicy"] = {"automated": {"selfHeal": True}}
    await h.create_app(auto)
    await h.create_app(application("api"))
    await set_status(
        h, "web", {"sync": {"status": "OutOfSync"}, "health": {"status": "Progressing"}}
    )
    await set_status(h, "api", {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}})
    appset = load_fixture("applicationset-guestbook.yaml")
    appset["metadata"]["namespace"] = h.namespace
    await h.kube.create(appset)
    await h.http.post(
        "/api/v1/clusters",
        headers=h.auth(),
        json={"server": "https://prod.example.com", "name": "prod", "config": {"bearerToken": "t"}},
    )
    metrics = await scrape(h)
    info = {s.labels["name"]: s for s in metrics["argocd_app_info"]}
    assert info["web"].value == 1
    assert info["web"].labels == {
        "namespace": h.namespace,
        "name": "web",
        "project": "default",
        "repo": "https://github.com/example/apps.git",
        "dest_server": "https://kubernetes.default.svc",
        "dest_namespace": "guestbook",
        "sync_status": "OutOfSync",
        "health_status": "Progressing",
        "operation": "",
        "autosync_enabled": "true",
    }
    assert info["api"].labels["autosync_enabled"] == "false"
    # The alert rule argocd_app_info{sync_status="OutOfSync"} == 1 selects exactly "web".
    firing = [
        s.labels["name"]
        for s in metrics["argocd_app_info"]
        if s.labels["sync_status"] == "OutOfSync" and s.value == 1
    ]
    assert firing == ["web"]
    clusters = {s.labels["server"]: s.labels for s in metrics["argocd_cluster_info"]}
    assert clusters["https://prod.example.com"]["name"] == "prod"
    assert clusters["https://kubernetes.default.svc"]["k8s_version"]
    (appset_sample,) = metrics["argocd_appset_info"]
    assert appset_sample.labels["name"] == "guestbooks"
    (reconciled,) = [s for s in metrics["argocd_app_reconcile"] if s.name.endswith("_count")]
    assert (reconciled.labels["namespace"], reconciled.value) == ("argocd", 1.0)


async def test_sync_total_counts_operations_that_finish(
    metered: tuple[Harness, CollectorRegistry],
) -> None:
    h, _ = metered
    await h.create_app(application("counted"))
    await set_status(h, "counted", operation_state("Succeeded", "2026-11-20T00:01:00Z"))
    await set_status(h, "counted", operation_state("Failed", "2026-11-20T00:02:00Z"))
    await set_status(h, "counted", operation_state("Succeeded", "2026-11-20T00:03:00Z"))
    await asyncio.sleep(0.2)  # the watch delivers the same changes again: counted once
    metrics = await scrape(h)
    totals = {
        s.labels["phase"]: s.value
        for s in metrics["argocd_app_sync"]
        if s.name == "argocd_app_sync_total" and s.labels["name"] == "counted"
    }
    assert totals == {"Succeeded": 2.0, "Failed": 1.0}
    sample = next(s for s in metrics["argocd_app_sync"] if s.name == "argocd_app_sync_total")
    assert set(sample.labels) == {"namespace", "name", "project", "dest_server", "phase"}
