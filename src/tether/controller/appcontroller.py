"""The application controller: watches Applications and makes their clusters follow Git.

Two work queues, as in Argo CD: the *refresh* queue compares an app and writes its
status (``status`` workers), the *operation* queue runs syncs (``operation`` workers).
An app is queued for refresh when it changes, when one of its live objects changes
(the self-heal trigger), when its project or the settings change, and periodically
(``timeout.reconciliation`` plus jitter). A refresh that finds an automated app
OutOfSync writes an ``operation`` request; any request or unfinished operation goes to
the operation queue.

Refreshes and operations report to :class:`~tether.controller.metrics.ControllerMetrics`
(durations, orphans, and, through :func:`~tether.controller.metrics.acting_for`, the
cluster requests made on each app's behalf).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from tether.controller.appwriter import APPLICATION, ApplicationWriter, app_key
from tether.controller.autosync import decide_auto_sync
from tether.controller.clusters import ClusterConnection, ClusterRegistry, UnknownDestination
from tether.controller.comparison import AppComparer, ComparisonFailed
from tether.controller.deletion import AppDeleter, Propagation
from tether.controller.gates import OPEN, SyncGate, cycle_conditions, evaluate_gate
from tether.controller.leases import ShardingConfig, ShardLeases
from tether.controller.metrics import AppRef, ControllerMetrics, acting_for
from tether.controller.operation import OperationRunner, new_operation_state
from tether.controller.orphans import find_orphans, orphan_conditions
from tether.controller.projects import project_problem, resolve_project
from tether.controller.settings import SETTINGS_CONFIGMAP, ControllerSettings
from tether.controller.status import (
    comparison_status,
    failure_status,
    merge_conditions,
)
from tether.controller.workqueue import RateLimit, WorkQueue
from tether.kube import Conflict, Invalid, KubeClient, NotFound
from tether.live import Change
from tether.model import ApplicationSource, OperationPhase, ResourceKey, SpecError, keys
from tether.model.application import Application
from tether.model.patterns import match_in_list
from tether.model.project import AppProject
from tether.model.status import Condition, ConditionType
from tether.model.wire import format_time
from tether.render.renderer import Renderer
from tether.source import GitCache, SourceError, same_repository

log = logging.getLogger(__name__)

APP_PROJECT = ("argoproj.io/v1alpha1", "AppProject")
_MANAGEMENT_KINDS = (APPLICATION, APP_PROJECT, ("v1", "ConfigMap"), ("v1", "Secret"))


#: Per app: a burst of 20 refreshes, then at most 5 a second (a sync's own object
#: events already cost a few refreshes; a storm is cut down, a normal sync is not).
DEFAULT_REFRESH_RATE_LIMIT = RateLimit(rate=5.0, burst=20)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ApplicationController:
    """Reconciles every Application of the control namespace."""

    def __init__(
        self,
        client: KubeClient,
        git: GitCache,
        *,
        namespace: str = "argocd",
        renderer: Renderer | None = None,
        clock: Callable[[], datetime] = _utcnow,
        status_workers: int = 10,
        operation_workers: int = 10,
        poll_interval: float = 0.5,
        resync: bool = True,
        rng: Callable[[], float] = random.random,
        refresh_rate_limit: RateLimit | None = DEFAULT_REFRESH_RATE_LIMIT,
        sharding: ShardingConfig | None = None,
        application_namespaces: tuple[str, ...] = (),
        metrics: ControllerMetrics | None = None,
    ) -> None:
        """Reconcile the Applications of ``namespace`` (and ``application_namespaces``).

        ``metrics`` is where the controller reports (a private registry when not given);
        give ``client`` that metrics' ``request_observer`` for the in-cluster server to
        count the management cluster's requests too.
        """
        self.client = client
        self.namespace = namespace
        #: Other namespaces whose Applications this controller reconciles (globs, Argo
        #: CD's ``--application-namespaces``); their projects must list them too.
        self.application_namespaces = application_namespaces
        self.clock = clock
        self.settings = ControllerSettings()
        self.metrics = metrics if metrics is not None else ControllerMetrics()
        self.clusters = ClusterRegistry(
            client, tracking=self.settings.tracking, observer_for=self.metrics.request_observer
        )
        self.management = self.clusters.connections[0]
        self.comparer = AppComparer(git, renderer or Renderer(), control_namespace=namespace)
        self.writer = ApplicationWriter(
            client,
            self.management.cache,
            lambda key, delay: self.refresh_queue.add_after(key, delay),
        )
        self.deleter = AppDeleter(self.comparer, control_namespace=namespace)
        self.operations = OperationRunner(
            self.comparer,
            self.writer.write_status,
            control_namespace=namespace,
            clock=clock,
            poll_interval=poll_interval,
        )
        self.refresh_queue: WorkQueue[str] = WorkQueue(
            "refresh", self.reconcile, workers=status_workers, rate_limit=refresh_rate_limit
        )
        self.operation_queue: WorkQueue[str] = WorkQueue(
            "operation", self.operate, workers=operation_workers
        )
        self._git = git
        self.metrics.watch_clusters(self.clusters)
        self.metrics.watch_queue(self.refresh_queue)
        self.metrics.watch_queue(self.operation_queue)
        self.metrics.watch_render_cache(self.comparer.renderer.cache)
        self.metrics.watch_git(git)
        self._resync = resync
        #: The shards of apps this replica works on (``None``: one replica, every app).
        self.leases = None if sharding is None else ShardLeases(client, namespace, sharding)
        self._rng = rng
        self._jitter: dict[str, float] = {}
        self._reconciled: dict[str, float] = {}
        self._repo_refreshed: dict[str, float] = {}
        self._compared_sources: dict[str, str] = {}
        self._terminate: dict[str, asyncio.Event] = {}
        self._subscribed: set[str] = set()
        self._dependents: dict[str, set[str]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Load the management state, then start watching and working.

        Bound it with a timeout: it waits for the first list of the management kinds.
        """
        cache = self.management.cache
        cache.watch_kinds(_MANAGEMENT_KINDS)
        await cache.wait_synced()
        self._load_settings()
        self._register_clusters()
        self._subscribe(self.management)
        if self.leases is not None:
            self.leases.on_acquired(lambda shards: self._enqueue_all(lambda app: True))
            await self.leases.start()
        self.refresh_queue.start()
        self.operation_queue.start()
        for obj in cache.of_kind("argoproj.io", "Application"):
            metadata = obj.get("metadata") or {}
            if self.manages(metadata.get("namespace", "")):
                self.refresh_queue.add(app_key(metadata["namespace"], metadata["name"]))
        if self._resync:
            self._tasks.append(asyncio.create_task(self._resync_loop(), name="resync"))

    async def close(self) -> None:
        """Stop working and watching."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.refresh_queue.close()
        await self.operation_queue.close()
        if self.leases is not None:
            await self.leases.close()
        await self.clusters.close()
        self.metrics.unwatch_git(self._git)

    def _subscribe(self, connection: ClusterConnection) -> None:
        if connection.server in self._subscribed:
            return
        self._subscribed.add(connection.server)
        queue = connection.cache.subscribe()
        self._tasks.append(
            asyncio.create_task(self._route(connection, queue), name=f"route {connection.name}")
        )
        self._tasks.append(
            asyncio.create_task(connection.await_version(), name=f"version {connection.name}")
        )

    # --- events --------------------------------------------------------------------

    async def _route(self, connection: ClusterConnection, queue: asyncio.Queue[Change]) -> None:
        management = connection is self.management
        while True:
            change = await queue.get()
            key = change.key
            if (
                management
                and (key.group, key.kind) == ("argoproj.io", "Application")
                and self.manages(key.namespace)
            ):
                self._on_application(key)
                continue
            if management and key.namespace == self.namespace:
                if (key.group, key.kind) == ("argoproj.io", "AppProject"):
                    self._enqueue_project(key.name)
                    continue
                if key.kind == "ConfigMap" and key.name == SETTINGS_CONFIGMAP:
                    self._load_settings()
                    self._enqueue_all(lambda app: True)
                    continue
                if key.kind == "Secret":
                    self._register_clusters()
            for name in change.apps:
                namespace, _, plain = name.rpartition("_")
                self.refresh_queue.add(app_key(namespace or self.namespace, plain))

    def _on_application(self, key: ResourceKey) -> None:
        queue_key = app_key(key.namespace, key.name)
        obj = self.management.cache.get(key)
        phase = ((obj or {}).get("status") or {}).get("operationState", {}).get("phase")
        if phase == OperationPhase.TERMINATING.value and queue_key in self._terminate:
            self._terminate[queue_key].set()
        self.refresh_queue.add(queue_key)
        for dependent in self._dependents.pop(queue_key, ()):
            self.refresh_queue.add(dependent)
            self.operation_queue.add(dependent)

    def _enqueue_project(self, project: str) -> None:
        self._enqueue_all(lambda app: (app.get("spec") or {}).get("project") == project)

    def _enqueue_all(self, wanted: Callable[[Mapping[str, Any]], bool]) -> None:
        for obj in self.management.cache.of_kind("argoproj.io", "Application"):
            metadata = obj.get("metadata") or {}
            if self.manages(metadata.get("namespace", "")) and wanted(obj):
                self.refresh_queue.add(app_key(metadata["namespace"], metadata["name"]))

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            period = self.settings.reconciliation_seconds
            if period <= 0:
                continue
            now = time.monotonic()
            for key, last in list(self._reconciled.items()):
                jitter = self._jitter.setdefault(key, self._rng() * self.settings.jitter_seconds)
                if now - last >= period + jitter:
                    self._reconciled[key] = now  # not again until this refresh ran
                    self.refresh_queue.add(key)

    def _load_settings(self) -> None:
        key = ResourceKey("", "ConfigMap", self.namespace, SETTINGS_CONFIGMAP)
        found = self.management.cache.get(key)
        self.settings = ControllerSettings.from_config_map((found or {}).get("data"))
        for problem in self.settings.problems:
            log.warning("%s: %s", SETTINGS_CONFIGMAP, problem)

    def _register_clusters(self) -> None:
        secrets = [
            s
            for s in self.management.cache.of_kind("", "Secret")
            if (s.get("metadata") or {}).get("namespace") == self.namespace
        ]
        for problem in self.clusters.register_secrets(secrets):
            log.warning("%s", problem)
        for connection in self.clusters.connections:
            self._subscribe(connection)

    # --- refresh -------------------------------------------------------------------

    def _application(
        self, key: str, fresh: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any] | None, Application | None, str]:
        namespace, _, name = key.partition("/")
        obj = fresh or self.management.cache.get(
            ResourceKey("argoproj.io", "Application", namespace, name)
        )
        if obj is None:
            return None, None, ""
        try:
            return obj, Application.from_dict(obj), ""
        except SpecError as error:
            return obj, None, str(error)

    def manages(self, namespace: str) -> bool:
        """Whether Applications of ``namespace`` are this controller's to reconcile."""
        return namespace == self.namespace or match_in_list(self.application_namespaces, namespace)

    def owns(self, key: str) -> bool:
        """Whether this replica works on the app ``namespace/name`` (see :mod:`.leases`)."""
        return self.leases is None or self.leases.owns(key)

    async def reconcile(self, key: str) -> None:
        """Refresh one application: compare, write status, maybe start an automated sync."""
        if not self.owns(key):
            return
        found = self._lookup(key)
        started = time.perf_counter()
        try:
            with acting_for(None if found is None else AppRef.of(found)):
                await self._reconcile(key)
        finally:
            # A refresh that failed took its time too (the queue retries it).
            if found is not None:
                self.metrics.observe_reconcile(found, time.perf_counter() - started)

    async def _reconcile(self, key: str) -> None:
        self._reconciled[key] = time.monotonic()
        obj, app, invalid = self._application(key)
        if obj is None:
            self.comparer.forget(key)
            self.refresh_queue.forget(key)
            self._reconciled.pop(key, None)
            namespace, _, name = key.partition("/")
            self.metrics.forget(namespace, name)
            return
        now = self.clock()
        if app is None:
            await self.writer.write_fields(obj, _invalid_spec(invalid, now))
            return
        if app.metadata.is_deleting:
            await self._finalize(key, obj, app)
            return
        if app.metadata.annotations.get(keys.SKIP_RECONCILE) == "true":
            return
        project = resolve_project(self.management.cache, self.namespace, app.spec.project_name)
        problem = project_problem(app, project, self.namespace)
        connection = None
        if not problem and project is not None:
            try:
                connection = self.clusters.resolve(
                    app.spec.destination.server, app.spec.destination.name
                )
            except UnknownDestination as error:
                problem = f"application destination {error}"
        if problem or project is None or connection is None:
            fields = failure_status(
                app, ConditionType.INVALID_SPEC_ERROR.value, problem, self.namespace, now
            )
            await self.writer.write_fields(obj, fields)
            return
        refresh = app.refresh_requested
        try:
            comparison = await self.comparer.compare(
                app,
                connection,
                self.settings,
                refresh_repositories=bool(refresh) or self._repositories_due(app),
                hard=refresh == "hard",
            )
        except ComparisonFailed as failure:
            fields = failure_status(app, failure.condition, failure.message, self.namespace, now)
            await self.writer.write_fields(obj, fields)
            await self._clear_refresh(app)
            return
        state = app.status.operation_state
        pending = app.operation is not None or (state is not None and not state.is_completed)
        decision = None if pending else decide_auto_sync(app, comparison, self.settings, now)
        gate = OPEN
        if pending or (decision is not None and decision.operation is not None):
            gate = self._gate(key, obj, app, project, now)
        conditions = gate.conditions or cycle_conditions(key, obj, self._lookup)
        if decision is not None:
            conditions = (*conditions, *decision.conditions)
        orphaned = project.spec.orphaned_resources
        orphan_count = None
        if orphaned is not None and app.spec.destination.namespace:
            orphans = find_orphans(
                connection.cache,
                connection.kinds,
                app.spec.destination.namespace,
                orphaned,
                self.settings.tracking,
            )
            orphan_count = len(orphans)
            conditions = (*conditions, *orphan_conditions(orphans, orphaned))
        self.metrics.set_orphans(AppRef.of(obj), orphan_count)
        await self.writer.write_fields(
            obj, comparison_status(app, comparison, self.namespace, now, conditions)
        )
        await self._clear_refresh(app)
        if pending:
            self.operation_queue.add(key)
            return
        assert decision is not None
        if decision.operation is not None and gate.allowed:
            await self.writer.patch(
                obj,
                [
                    # Only if our copy is current: a stale one may predate the last sync.
                    {
                        "op": "test",
                        "path": "/metadata/resourceVersion",
                        "value": obj["metadata"]["resourceVersion"],
                    },
                    {"op": "add", "path": "/operation", "value": decision.operation.to_dict()},
                ],
            )
            self.operation_queue.add(key)
        elif decision.operation is not None:
            self._wait_on_gate(key, gate, self.refresh_queue)
        elif decision.retry_after is not None:
            self.refresh_queue.add_after(key, decision.retry_after)

    def _lookup(self, key: str) -> Mapping[str, Any] | None:
        namespace, _, name = key.partition("/")
        return self.management.cache.get(ResourceKey("argoproj.io", "Application", namespace, name))

    def _gate(
        self,
        key: str,
        obj: Mapping[str, Any],
        app: Application,
        project: AppProject,
        now: datetime,
    ) -> SyncGate:
        """The gate for the app's next sync: its pending operation's, or an automated one's."""
        state = app.status.operation_state
        if state is not None and not state.is_completed and state.sync_result is not None:
            return OPEN  # already under way: gates only hold back syncs that did not start
        operation = app.operation or (state.operation if state is not None else None)
        initiator = operation.initiated_by if operation is not None else None
        manual = operation is not None and not (initiator is not None and initiator.automated)
        return evaluate_gate(key, obj, app, project, self._lookup, now, manual=manual)

    def _wait_on_gate(self, key: str, gate: SyncGate, queue: WorkQueue[str]) -> None:
        """Look at a closed gate again when it may have opened."""
        for dependency in gate.waiting_on:
            self._dependents.setdefault(dependency, set()).add(key)
        if gate.recheck_after is not None:
            queue.add_after(key, gate.recheck_after + 0.01)

    def _repositories_due(self, app: Application) -> bool:
        """Whether to fetch the app's repositories before comparing.

        Yes when its sources changed since the last comparison, or when a repository
        was last fetched longer than a reconciliation period ago (webhooks clear that
        mark, see :meth:`note_push`).
        """
        sources = repr([s.to_dict() for s in app.sources])
        changed = self._compared_sources.get(app.qualified_name) != sources
        self._compared_sources[app.qualified_name] = sources
        now = time.monotonic()
        period = self.settings.reconciliation_seconds or float("inf")
        due = False
        for source in app.sources:
            if source.is_helm_repository:
                continue
            last = self._repo_refreshed.get(source.repo_url)
            if changed or last is None or now - last >= period or self._fetch_failed(source):
                self._repo_refreshed[source.repo_url] = now
                due = True
        return due

    def _fetch_failed(self, source: ApplicationSource) -> bool:
        """Whether the last refresh of ``source``'s repository failed.

        Such a repository is due again on every refresh: comparing with its stale
        mirror would report the app Synced to a revision Git has moved past, and
        replace the error that says why.
        """
        try:
            return bool(self.comparer.git.state(source.repo_url).last_error)
        except SourceError:
            return True  # an unusable URL: let the comparison report it

    def note_push(self, repo_url: str) -> None:
        """A webhook said ``repo_url`` changed: fetch it on the next refresh of its apps."""
        for known in list(self._repo_refreshed):
            if same_repository(known, repo_url):
                del self._repo_refreshed[known]

        def uses_repository(app: Mapping[str, Any]) -> bool:
            spec = app.get("spec") or {}
            sources = [spec.get("source") or {}, *(spec.get("sources") or [])]
            return any(same_repository(str(s.get("repoURL", "")), repo_url) for s in sources)

        self._enqueue_all(uses_repository)

    async def _clear_refresh(self, app: Application) -> None:
        if not app.refresh_requested:
            return
        escaped = keys.REFRESH.replace("~", "~0").replace("/", "~1")
        with contextlib.suppress(Invalid, NotFound, Conflict):
            await self.client.patch(
                *APPLICATION,
                app.name,
                app.namespace,
                [{"op": "remove", "path": f"/metadata/annotations/{escaped}"}],
                patch_type="json",
            )

    # --- operations ----------------------------------------------------------------

    async def operate(self, key: str) -> None:
        """Run the requested or unfinished operation of one application."""
        if not self.owns(key):
            return
        found = self._lookup(key)
        with acting_for(None if found is None else AppRef.of(found)):
            await self._operate(key)

    async def _operate(self, key: str) -> None:
        # Read the app from the API server, not the cache: a cached copy that lags
        # behind the last finished operation would start or resume it a second time.
        obj, app, _ = self._application(key, await self.writer.read(key))
        if obj is None or app is None or app.metadata.is_deleting:
            return
        state = app.status.operation_state
        now = self.clock()
        if state is None or state.is_completed:
            if app.operation is None:
                return
            retry_count = 0
            if (
                state is not None
                and state.phase in (OperationPhase.FAILED, OperationPhase.ERROR)
                and state.operation == app.operation
            ):
                delay = self.operations.retry_delay(state)
                if delay is None:
                    return
                waited = (now - (state.finished_at or now)).total_seconds()
                # A failure "in the future" means the clock went back: retry now rather
                # than for as long as the jump.
                if 0 <= waited < delay:
                    self.operation_queue.add_after(key, delay - waited)
                    return
                retry_count = state.retry_count + 1
            initiator = app.operation.initiated_by
            if retry_count or (initiator is not None and initiator.automated):
                # A retry or an automated sync starts only through an open gate: its
                # recorded start would otherwise fall inside a window that forbids it.
                # (A user's request is recorded at once and waits, saying why.)
                project = resolve_project(
                    self.management.cache, self.namespace, app.spec.project_name
                )
                if project is not None:
                    gate = self._gate(key, obj, app, project, now)
                    if not gate.allowed:
                        self._wait_on_gate(key, gate, self.operation_queue)
                        return
            state = new_operation_state(app.operation, now, retry_count)
            await self.writer.write_fields(obj, {"operationState": state.to_dict()})
            log.info("%s: operation started", key)
        project = resolve_project(self.management.cache, self.namespace, app.spec.project_name)
        problem = project_problem(app, project, self.namespace)
        try:
            connection = self.clusters.resolve(
                app.spec.destination.server, app.spec.destination.name
            )
        except UnknownDestination as error:
            problem = problem or f"application destination {error}"
            connection = None
        if problem or project is None or connection is None:
            failed = state.__class__(
                operation=state.operation,
                phase=OperationPhase.ERROR,
                started_at=state.started_at,
                message=problem,
                finished_at=now,
                retry_count=state.retry_count,
            )
            await self.operations.finish(app, failed)
            return
        gate = self._gate(key, obj, app, project, now)
        if not gate.allowed and state.phase is OperationPhase.TERMINATING:
            # Terminated while it waited: it never started, so it simply ends.
            ended = dataclasses.replace(
                state, phase=OperationPhase.FAILED, message="Operation terminated", finished_at=now
            )
            await self.operations.finish(app, ended)
            return
        if not gate.allowed:
            if state.message != gate.reason:
                waiting = dataclasses.replace(state, message=gate.reason)
                await self.writer.write_fields(obj, {"operationState": waiting.to_dict()})
            self._wait_on_gate(key, gate, self.operation_queue)
            return
        terminate = self._terminate.setdefault(key, asyncio.Event())
        if state.phase is OperationPhase.TERMINATING:
            terminate.set()
        try:
            final = await self.operations.run(
                app, project, connection, self.settings, state, terminate
            )
        finally:
            self._terminate.pop(key, None)
        if final.phase is OperationPhase.SUCCEEDED and final.finished_at is not None:
            self.metrics.observe_sync(obj, (final.finished_at - final.started_at).total_seconds())
        delay = self.operations.retry_delay(final)
        if delay is not None:
            self.operation_queue.add_after(key, delay)
        self.refresh_queue.add(key)

    # --- deletion ------------------------------------------------------------------

    async def _finalize(self, key: str, obj: Mapping[str, Any], app: Application) -> None:
        """Cascade a deletion held by the resources finalizer, then release the app."""
        finalizers = list(app.metadata.finalizers)
        ours = [
            f
            for f in finalizers
            if f in (keys.RESOURCES_FINALIZER, keys.RESOURCES_FINALIZER_BACKGROUND)
        ]
        if not ours:
            return
        running = self._terminate.get(key)
        if running is not None:
            # A sync under way could apply objects again after they were deleted: stop it
            # first, and cascade once it has ended.
            running.set()
            self.refresh_queue.add_after(key, 0.2)
            return
        try:
            connection = self.clusters.resolve(
                app.spec.destination.server, app.spec.destination.name
            )
        except UnknownDestination:
            connection = None
        if connection is not None:
            policy: Propagation = (
                "Background" if keys.RESOURCES_FINALIZER_BACKGROUND in ours else "Foreground"
            )
            step = await self.deleter.step(app, connection, self.settings, policy)
            if step.hooks_completed:
                await self._mark_delete_hooks_completed(obj)
                self.refresh_queue.add_after(key, 0.2)
                return
            if not step.done:
                if step.failed:
                    now = self.clock()
                    condition = Condition(ConditionType.DELETION_ERROR.value, step.message)
                    conditions = merge_conditions(app.status.conditions, [condition], now)
                    await self.writer.write_fields(
                        obj, {"conditions": [c.to_dict() for c in conditions]}
                    )
                self.refresh_queue.add_after(key, 5.0 if step.failed else 0.5)
                return
        kept = [f for f in finalizers if f not in ours]
        await self.writer.patch(
            obj,
            [
                {
                    "op": "test",
                    "path": "/metadata/resourceVersion",
                    "value": obj["metadata"]["resourceVersion"],
                },
                {"op": "replace", "path": "/metadata/finalizers", "value": kept},
            ],
        )
        self.comparer.forget(key)

    async def _mark_delete_hooks_completed(self, obj: Mapping[str, Any]) -> None:
        """Record on the app that its deletion hooks ran, before they are removed."""
        annotations = (obj.get("metadata") or {}).get("annotations")
        if annotations is None:
            op = {
                "op": "add",
                "path": "/metadata/annotations",
                "value": {keys.DELETE_HOOKS_COMPLETED: "true"},
            }
        else:
            escaped = keys.DELETE_HOOKS_COMPLETED.replace("~", "~0").replace("/", "~1")
            op = {"op": "add", "path": f"/metadata/annotations/{escaped}", "value": "true"}
        await self.writer.patch(obj, [op])


def _invalid_spec(message: str, now: datetime) -> dict[str, Any]:
    return {
        "sync": {"status": "Unknown"},
        "conditions": [
            {
                "type": ConditionType.INVALID_SPEC_ERROR.value,
                "message": message,
                "lastTransitionTime": format_time(now),
            }
        ],
    }
