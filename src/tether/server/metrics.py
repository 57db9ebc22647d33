"""Prometheus metrics at ``/metrics``, with Argo CD's names and labels.

Computed from what the cluster holds, so dashboards and alert rules written for Argo CD
work unchanged (``argocd_app_info{sync_status="OutOfSync"} == 1``):

``argocd_app_info``
    one series per Application, value 1, labels ``namespace, name, project, repo,
    dest_server, dest_namespace, sync_status, health_status, operation,
    autosync_enabled`` (read from the watch cache at scrape time).
``argocd_app_sync_total``
    counter per ``namespace, name, project, dest_server, phase``: each sync operation
    seen finishing while this server runs (a new ``status.operationState.finishedAt``).
``argocd_cluster_info``
    one series per destination cluster (``server, name, k8s_version``).
``argocd_appset_info``
    one series per ApplicationSet (``namespace, name, resource_update_status``).

The registry is injected, so other collectors can register on the same one and
``/metrics`` exposes them all: ``tether up`` hands it to the controller's
:class:`~tether.controller.metrics.ControllerMetrics` (``argocd_app_reconcile``,
``argocd_app_k8s_request_total``, ``tether_*``, ...). The controller, not the server,
counts ``argocd_app_sync_duration_seconds_total``: it sees each sync it ran end, once,
whichever processes run. Cluster and ApplicationSet lists are refreshed at most every
``refresh_seconds``, so scrapes cost the cluster little.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tether.kube import KubeError
from tether.model import API_VERSION, keys
from tether.server.appcache import Change
from tether.server.store import decode_secret_data
from tether.server.tree import IN_CLUSTER_NAME, IN_CLUSTER_SERVER

if TYPE_CHECKING:
    from tether.server.context import ServerContext

APP_INFO_LABELS = (
    "namespace",
    "name",
    "project",
    "repo",
    "dest_server",
    "dest_namespace",
    "sync_status",
    "health_status",
    "operation",
    "autosync_enabled",
)


def _app_info_labels(obj: Mapping[str, Any]) -> list[str]:
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    sources = [spec.get("source") or {}, *(spec.get("sources") or [])]
    repo = next((str(s.get("repoURL")) for s in sources if s.get("repoURL")), "")
    destination = spec.get("destination") or {}
    operation = ""
    if obj.get("operation"):
        operation = "sync"
    automated = (spec.get("syncPolicy") or {}).get("automated")
    return [
        str(metadata.get("namespace", "")),
        str(metadata.get("name", "")),
        str(spec.get("project") or "default"),
        repo,
        str(destination.get("server") or destination.get("name") or ""),
        str(destination.get("namespace", "")),
        str((status.get("sync") or {}).get("status") or "Unknown"),
        str((status.get("health") or {}).get("status") or "Unknown"),
        operation,
        "true" if automated is not None and automated.get("enabled", True) else "false",
    ]


class _Collector(Collector):
    def __init__(self, metrics: AppMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "argocd_app_info", "Information about application.", labels=APP_INFO_LABELS
        )
        for obj in self.metrics.context.apps.items():
            info.add_metric(_app_info_labels(obj), 1)
        yield info
        clusters = GaugeMetricFamily(
            "argocd_cluster_info",
            "Information about cluster.",
            labels=("server", "name", "k8s_version"),
        )
        for server, name, version in self.metrics.clusters:
            clusters.add_metric([server, name, version], 1)
        yield clusters
        appsets = GaugeMetricFamily(
            "argocd_appset_info",
            "Information about applicationset.",
            labels=("namespace", "name", "resource_update_status"),
        )
        for labels in self.metrics.appsets:
            appsets.add_metric(list(labels), 1)
        yield appsets


class AppMetrics:
    """The server's metrics on an injected registry."""

    def __init__(
        self,
        context: ServerContext,
        registry: CollectorRegistry,
        *,
        refresh_seconds: float = 10.0,
    ) -> None:
        self.context = context
        self.registry = registry
        self.refresh_seconds = refresh_seconds
        self.clusters: list[tuple[str, str, str]] = []
        self.appsets: list[tuple[str, str, str]] = []
        self._refreshed_at: float | None = None
        self._finished: dict[str, str] = {}
        self.sync_total = Counter(
            "argocd_app_sync",
            "Number of application syncs.",
            ("namespace", "name", "project", "dest_server", "phase"),
            registry=registry,
        )
        registry.register(_Collector(self))
        context.apps.listeners.append(self._observe)

    def _observe(self, change: Change, live: bool) -> None:
        """Count an operation the first time its ``finishedAt`` is seen (after the first list)."""
        obj = change.object
        metadata = obj.get("metadata") or {}
        key = f"{metadata.get('namespace')}/{metadata.get('name')}"
        if change.type == "DELETED":
            self._finished.pop(key, None)
            return
        state = (obj.get("status") or {}).get("operationState") or {}
        finished = str(state.get("finishedAt") or "")
        if not finished or self._finished.get(key) == finished:
            return
        self._finished[key] = finished
        if not live:
            return  # finished before this server started: not a sync it saw
        spec = obj.get("spec") or {}
        destination = spec.get("destination") or {}
        self.sync_total.labels(
            str(metadata.get("namespace", "")),
            str(metadata.get("name", "")),
            str(spec.get("project") or "default"),
            str(destination.get("server") or destination.get("name") or ""),
            str(state.get("phase") or "Unknown"),
        ).inc()

    async def refresh(self) -> None:
        """Re-read clusters and ApplicationSets when the cached lists are old."""
        now = self.context.monotonic()
        if self._refreshed_at is not None and now - self._refreshed_at < self.refresh_seconds:
            return
        self._refreshed_at = now
        ctx = self.context
        clusters: list[tuple[str, str, str]] = []
        try:
            version = str((await ctx.client.version()).get("gitVersion", ""))
        except KubeError:
            version = ""
        try:
            secrets = await ctx.client.list(
                "v1",
                "Secret",
                ctx.namespace,
                label_selector=f"{keys.SECRET_TYPE_LABEL}={keys.SECRET_TYPE_CLUSTER}",
            )
            for secret in secrets.items:
                data = decode_secret_data(secret)
                server = data.get("server", "").rstrip("/")
                if server and server != IN_CLUSTER_SERVER:
                    clusters.append((server, data.get("name", server), ""))
        except KubeError:
            pass
        self.clusters = [(IN_CLUSTER_SERVER, IN_CLUSTER_NAME, version), *clusters]
        appsets: list[tuple[str, str, str]] = []
        try:
            for obj in (await ctx.client.list(API_VERSION, "ApplicationSet", ctx.namespace)).items:
                conditions = (obj.get("status") or {}).get("conditions") or []
                updated: Mapping[str, Any] = next(
                    (c for c in conditions if c.get("type") == "ResourcesUpToDate"), {}
                )
                appsets.append(
                    (
                        ctx.namespace,
                        str(obj["metadata"]["name"]),
                        str(updated.get("status") or "Unknown"),
                    )
                )
        except KubeError:
            pass
        self.appsets = appsets


metrics_router = APIRouter(tags=["metrics"])


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The Prometheus exposition of every metric on the server's registry."""
    app_metrics: AppMetrics = request.app.state.metrics
    await app_metrics.refresh()
    return Response(generate_latest(app_metrics.registry), media_type=CONTENT_TYPE_LATEST)
