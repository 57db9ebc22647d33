"""The controller's Prometheus metrics, with Argo CD's names, types and labels.

:class:`ControllerMetrics` registers on an injected ``CollectorRegistry`` (a private one
by default, so code that does not care needs nothing). ``tether up`` gives the server
and the controller one registry, so its ``/metrics`` carries both; ``tether controller``
serves its own on port 8082, as Argo CD's application controller does.

Counted as things happen (each an O(1) update):

``argocd_app_reconcile`` (histogram; ``namespace, dest_server``)
    seconds per application refresh (compare, write status, maybe start a sync);
    Argo CD's buckets 0.25 … 16 s.
``argocd_app_sync_duration_seconds_total`` (counter; ``namespace, name, project,
dest_server``)
    seconds spent in sync operations that succeeded (``finishedAt - startedAt``).
``argocd_app_k8s_request_total`` (counter; ``namespace, name, project, server,
response_code, verb, resource_kind, resource_namespace, dry_run``)
    requests to a cluster made while the controller works on an application. The
    application comes from a context variable (:func:`acting_for`) the controller sets
    around its work, so nothing is threaded through the call chain; requests made for
    no application (the live caches' lists, ApplicationSets, the API server) are not
    counted, as in Argo CD. ``verb`` is ``Get, List, Create, Update, Patch, Delete``;
    ``response_code`` is 0 when no response arrived.
``argocd_appset_reconcile`` (histogram; ``name, namespace``)
    seconds per ApplicationSet pass.
``tether_git_fetch_duration_seconds`` (histogram; ``repo``)
    seconds per repository refresh (ref listing, plus the fetch when refs changed);
    ``repo`` is the normalised URL (``host/path``), never with credentials.

Read from the controller's state when scraped (a custom collector, nothing on hot paths):

``argocd_app_orphaned_resources_count`` (gauge; ``namespace, name, project``)
    orphaned objects found at the last refresh, for apps whose project asks for them.
``argocd_cluster_connection_status`` (gauge; ``server, k8s_version``)
    1 while the controller can watch the cluster, 0 while a watch fails; clusters no
    application uses yet (status Unknown) are left out.
``argocd_cluster_api_resource_objects``, ``argocd_cluster_api_resources`` (gauges;
``server``)
    objects in the cluster's live cache; kinds watched for applications.
``tether_render_cache_hits_total``, ``tether_render_cache_misses_total`` (counters)
    lookups of the render cache.
``tether_workqueue_depth`` (gauge), ``tether_workqueue_adds_total`` (counter) (``queue``:
``refresh`` or ``operation``)
    keys waiting for a worker; keys queued so far.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tether.controller.clusters import ClusterRegistry, ConnectionStatus
from tether.controller.workqueue import WorkQueue
from tether.kube.client import RequestObserver, RequestRecord
from tether.render.cache import RenderCache
from tether.source.cache import GitCache, RefreshRecord

#: Argo CD's ``argocd_app_reconcile`` buckets (chosen there around a ~2 s mean).
RECONCILE_BUCKETS: Final = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
#: Git refreshes range from a few milliseconds (refs unchanged) to a minute (a clone).
GIT_FETCH_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

K8S_REQUEST_LABELS: Final = (
    "namespace",
    "name",
    "project",
    "server",
    "response_code",
    "verb",
    "resource_kind",
    "resource_namespace",
    "dry_run",
)


@dataclass(frozen=True, slots=True)
class AppRef:
    """The application a piece of work is for: the labels metrics give it."""

    namespace: str
    name: str
    project: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> AppRef:
        """The reference of an Application object (project ``default`` when unset)."""
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        return cls(
            str(metadata.get("namespace", "")),
            str(metadata.get("name", "")),
            str(spec.get("project") or "default"),
        )


def destination_server(obj: Mapping[str, Any]) -> str:
    """The ``dest_server`` label of an Application (its destination name when no URL)."""
    destination = (obj.get("spec") or {}).get("destination") or {}
    return str(destination.get("server") or destination.get("name") or "")


_current_app: ContextVar[AppRef | None] = ContextVar("tether_current_app", default=None)


def without_created_series() -> None:
    """Expose counters and histograms without ``*_created`` series, as Argo CD does.

    Process-wide (prometheus_client keeps it globally), so the commands call it at start;
    it halves the bytes of a scrape.
    """
    disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream


@contextlib.contextmanager
def acting_for(app: AppRef | None) -> Iterator[None]:
    """Attribute the cluster requests made inside the block (and its tasks) to ``app``."""
    token = _current_app.set(app)
    try:
        yield
    finally:
        _current_app.reset(token)


class ControllerMetrics:
    """The application and ApplicationSet controllers' metrics on one registry.

    One instance serves one :class:`~tether.controller.ApplicationController` (which
    binds its clusters, queues, render cache and Git cache) and the ApplicationSet
    reconciler beside it; the same registry cannot take a second instance (Prometheus
    names are unique per registry).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Register on ``registry`` (a private one when not given)."""
        self.registry = registry if registry is not None else CollectorRegistry()
        self._reconcile = Histogram(
            "argocd_app_reconcile",
            "Application reconciliation performance in seconds.",
            ("namespace", "dest_server"),
            buckets=RECONCILE_BUCKETS,
            registry=self.registry,
        )
        self._sync_duration = Counter(
            "argocd_app_sync_duration_seconds",
            "Application sync performance in seconds.",
            ("namespace", "name", "project", "dest_server"),
            registry=self.registry,
        )
        self._k8s_requests = Counter(
            "argocd_app_k8s_request",
            "Number of kubernetes requests executed during application reconciliation.",
            K8S_REQUEST_LABELS,
            registry=self.registry,
        )
        self._appset_reconcile = Histogram(
            "argocd_appset_reconcile",
            "Application reconciliation performance in seconds.",
            ("name", "namespace"),
            buckets=RECONCILE_BUCKETS,
            registry=self.registry,
        )
        self._git_fetch = Histogram(
            "tether_git_fetch_duration_seconds",
            "Seconds per Git repository refresh (ref listing and fetch).",
            ("repo",),
            buckets=GIT_FETCH_BUCKETS,
            registry=self.registry,
        )
        self._state = _StateCollector()
        self.registry.register(self._state)

    # --- what the controller binds ---------------------------------------------

    def watch_clusters(self, clusters: ClusterRegistry) -> None:
        """Report ``clusters``' connections when scraped."""
        self._state.clusters.append(clusters)

    def watch_queue(self, queue: WorkQueue[Any]) -> None:
        """Report ``queue``'s depth and adds when scraped (labelled with its name)."""
        self._state.queues.append(queue)

    def watch_render_cache(self, cache: RenderCache) -> None:
        """Report ``cache``'s hits and misses when scraped."""
        self._state.render_caches.append(cache)

    def watch_git(self, git: GitCache) -> None:
        """Time every refresh of ``git`` (once, however often it is bound)."""
        if self._observe_refresh not in git.refresh_listeners:
            git.refresh_listeners.append(self._observe_refresh)

    def unwatch_git(self, git: GitCache) -> None:
        """Stop timing ``git``'s refreshes."""
        with contextlib.suppress(ValueError):
            git.refresh_listeners.remove(self._observe_refresh)

    def request_observer(self, server: str) -> RequestObserver:
        """The observer for a client of cluster ``server`` (the ``server`` label)."""

        def observe(record: RequestRecord) -> None:
            app = _current_app.get()
            if app is None:
                return
            self._k8s_requests.labels(
                app.namespace,
                app.name,
                app.project,
                server,
                str(record.status_code),
                record.verb.capitalize(),
                record.kind,
                record.namespace,
                "true" if record.dry_run else "false",
            ).inc()

        return observe

    # --- what the controller reports -------------------------------------------

    def observe_reconcile(self, obj: Mapping[str, Any], seconds: float) -> None:
        """One refresh of the Application ``obj`` took ``seconds``."""
        namespace = str((obj.get("metadata") or {}).get("namespace", ""))
        self._reconcile.labels(namespace, destination_server(obj)).observe(seconds)

    def observe_sync(self, obj: Mapping[str, Any], seconds: float) -> None:
        """A sync of the Application ``obj`` succeeded after ``seconds``."""
        app = AppRef.of(obj)
        self._sync_duration.labels(
            app.namespace, app.name, app.project, destination_server(obj)
        ).inc(max(seconds, 0.0))

    def observe_appset_reconcile(self, namespace: str, name: str, seconds: float) -> None:
        """One pass of ApplicationSet ``namespace/name`` took ``seconds``."""
        self._appset_reconcile.labels(name, namespace).observe(seconds)

    def set_orphans(self, app: AppRef, count: int | None) -> None:
        """``app`` has ``count`` orphaned resources (``None``: its project does not look)."""
        key = (app.namespace, app.name)
        if count is None:
            self._state.orphans.pop(key, None)
        else:
            self._state.orphans[key] = (app.project, count)

    def forget(self, namespace: str, name: str) -> None:
        """Drop the scrape-time series of a deleted application."""
        self._state.orphans.pop((namespace, name), None)

    def _observe_refresh(self, record: RefreshRecord) -> None:
        self._git_fetch.labels(record.repo).observe(record.seconds)


class _StateCollector(Collector):
    """Series read from the controller's own state at scrape time."""

    def __init__(self) -> None:
        self.clusters: list[ClusterRegistry] = []
        self.queues: list[WorkQueue[Any]] = []
        self.render_caches: list[RenderCache] = []
        #: ``(namespace, name)`` → ``(project, orphaned resources)``.
        self.orphans: dict[tuple[str, str], tuple[str, int]] = {}

    def collect(self) -> Iterator[Metric]:
        yield self._orphans()
        yield from self._clusters()
        hits = CounterMetricFamily("tether_render_cache_hits", "Render cache lookups that hit.")
        misses = CounterMetricFamily(
            "tether_render_cache_misses", "Render cache lookups that missed (a render ran)."
        )
        stats = [cache.stats for cache in self.render_caches]
        hits.add_metric([], sum(s.hits for s in stats))
        misses.add_metric([], sum(s.misses for s in stats))
        yield hits
        yield misses
        depth = GaugeMetricFamily(
            "tether_workqueue_depth", "Keys waiting for a worker.", labels=("queue",)
        )
        adds = CounterMetricFamily(
            "tether_workqueue_adds", "Keys queued for a worker.", labels=("queue",)
        )
        for queue in self.queues:
            depth.add_metric([queue.name], queue.depth)
            adds.add_metric([queue.name], queue.adds)
        yield depth
        yield adds

    def _orphans(self) -> Metric:
        family = GaugeMetricFamily(
            "argocd_app_orphaned_resources_count",
            "Number of orphaned resources per application.",
            labels=("namespace", "name", "project"),
        )
        for (namespace, name), (project, count) in self.orphans.items():
            family.add_metric([namespace, name, project], count)
        return family

    def _clusters(self) -> Iterator[Metric]:
        status = GaugeMetricFamily(
            "argocd_cluster_connection_status",
            "The k8s cluster current connection status.",
            labels=("server", "k8s_version"),
        )
        objects = GaugeMetricFamily(
            "argocd_cluster_api_resource_objects",
            "Number of k8s resource objects in the cache.",
            labels=("server",),
        )
        kinds = GaugeMetricFamily(
            "argocd_cluster_api_resources",
            "Number of monitored Kubernetes API resources.",
            labels=("server",),
        )
        for registry in self.clusters:
            for connection in registry.connections:
                state = connection.connection_state().status
                if state is not ConnectionStatus.UNKNOWN:
                    up = 1 if state is ConnectionStatus.SUCCESSFUL else 0
                    status.add_metric([connection.server, connection.k8s_version], up)
                objects.add_metric([connection.server], len(connection.cache))
                kinds.add_metric([connection.server], len(connection.kinds))
        yield status
        yield objects
        yield kinds
