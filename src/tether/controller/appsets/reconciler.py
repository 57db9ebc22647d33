"""The ApplicationSet reconciler: generate → render → plan → apply, over a cluster.

:class:`ApplicationSetReconciler` lists and watches ApplicationSets and Applications
in the control namespace, and reconciles an ApplicationSet when it changes, when one
of its Applications changes, and ``requeueAfterSeconds`` after each pass (180 s by
default for polling generators, as in Argo CD), and re-runs ApplicationSets with a
clusters generator when a cluster Secret changes. Up to ``workers`` ApplicationSets
reconcile at once, never one twice at a time. Writes use the field manager
``tether-applicationset``; status goes to the status subresource.

A pass changes nothing when any generator fails, when two parameter sets render the
same name, or when the live Applications cannot be listed: the conditions say why.
Each pass is timed in ``argocd_appset_reconcile`` (:mod:`tether.controller.metrics`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from tether.controller.appsets.conditions import (
    Reason,
    generation_failed,
    healthy_conditions,
    merge_conditions,
    partly_failed,
    resource_entry,
    rollout_condition,
    status_document,
)
from tether.controller.appsets.errors import AppSetError, GeneratorError
from tether.controller.appsets.generate import generate
from tether.controller.appsets.generator import (
    DEFAULT_REQUEUE_SECONDS,
    Generated,
    GenerationContext,
)
from tether.controller.appsets.lifecycle import (
    Action,
    ActionKind,
    Plan,
    controller_of,
    owned_by,
    plan,
)
from tether.controller.appsets.render import Rendered, render_applications
from tether.controller.appsets.rollingsync import progress, sync_operation, without_automated_sync
from tether.controller.appsets.sources import (
    ClusterInputs,
    GitRepositories,
    SnapshotRepositories,
)
from tether.controller.metrics import ControllerMetrics
from tether.kube import Gone, KubeClient, KubeError, NotFound
from tether.model import keys
from tether.model.application import API_VERSION
from tether.model.applicationset import APPLICATION_SET_KIND, ApplicationSet
from tether.model.appsetstatus import AppSetApplicationStatus, AppSetCondition
from tether.model.specerror import SpecError
from tether.source import Clock, GitCache, SystemClock

log = logging.getLogger(__name__)

FIELD_MANAGER: Final = "tether-applicationset"
#: How many ApplicationSets reconcile at once.
DEFAULT_WORKERS: Final = 4
#: How many Application writes of one pass run at once.
WRITE_CONCURRENCY: Final = 16
#: Delay before reconciling after an Application event (events come in bursts).
APP_EVENT_DELAY: Final = 0.2
_RESOURCE_FINALIZERS: Final = (keys.RESOURCES_FINALIZER, keys.RESOURCES_FINALIZER_BACKGROUND)
#: The Secrets the clusters generator reads.
CLUSTER_SECRETS: Final = f"{keys.SECRET_TYPE_LABEL}={keys.SECRET_TYPE_CLUSTER}"
#: Back-off after a failed watch before watching again.
WATCH_BACKOFF: Final = 1.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one pass did (names of Applications) and when to come back."""

    name: str
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    synced: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    error: str = ""
    requeue_after: float | None = None


@dataclass(frozen=True, slots=True)
class _Step:
    """What a pass wants: rendered Applications, the live ones, and the plan."""

    rendered: Rendered
    desired: list[dict[str, Any]]
    prunes: dict[str, bool]
    live: list[dict[str, Any]]
    plan: Plan


@dataclass(slots=True)
class _Writes:
    done: dict[ActionKind, list[str]] = field(default_factory=dict)
    live: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    errors: list[tuple[Reason, str]] = field(default_factory=list)


class ApplicationSetReconciler:
    """Reconciles every ApplicationSet of one control namespace."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        git_cache: GitCache,
        clock: Clock | None = None,
        *,
        default_requeue: float = DEFAULT_REQUEUE_SECONDS,
        http_timeout: float = 30.0,
        workers: int = DEFAULT_WORKERS,
        metrics: ControllerMetrics | None = None,
    ) -> None:
        """Reconcile the ApplicationSets of ``namespace``; passes are timed in ``metrics``."""
        self.workers = workers
        self.metrics = metrics if metrics is not None else ControllerMetrics()
        self.client = client
        self.namespace = namespace
        self.clock = clock or SystemClock()
        self.default_requeue = default_requeue
        self.http_timeout = http_timeout
        self._repositories = GitRepositories(git_cache)
        self._inputs = ClusterInputs(client, namespace)
        self._due: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._generations: dict[str, int] = {}
        self._cluster_users: set[str] = set()

    # --- running -------------------------------------------------------------------

    async def start(self) -> None:
        """Start watching and reconciling in the background."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._watch(API_VERSION, APPLICATION_SET_KIND, self._on_appset)),
            asyncio.create_task(self._watch(API_VERSION, "Application", self._on_application)),
            asyncio.create_task(
                self._watch("v1", "Secret", self._on_cluster_secret, CLUSTER_SECRETS)
            ),
            asyncio.create_task(self._work()),
        ]

    async def close(self) -> None:
        """Stop every background task, passes in progress included, and wait for them."""
        tasks = [*self._tasks, *self._running.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._running.clear()

    def enqueue(self, name: str, delay: float = 0.0) -> None:
        """Reconcile ``name`` after ``delay`` seconds (sooner if already due sooner)."""
        due = asyncio.get_running_loop().time() + delay
        if name not in self._due or due < self._due[name]:
            self._due[name] = due
            self._wake.set()

    async def _work(self) -> None:
        # Up to ``workers`` ApplicationSets reconcile at once (one slow API must not
        # hold up the others), never the same one twice at a time: a name due while
        # its pass runs stays queued and runs when that pass ends.
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            now = loop.time()
            for name, due in sorted(self._due.items(), key=lambda item: item[1]):
                if due > now or len(self._running) >= self.workers:
                    break
                if name in self._running:
                    continue
                del self._due[name]
                task = asyncio.create_task(self._pass(name))
                self._running[name] = task
                task.add_done_callback(functools.partial(self._finished, name))
            waiting = [t for n, t in self._due.items() if n not in self._running]
            timeout = min(waiting, default=now + 60.0) - loop.time()
            if timeout > 0 or len(self._running) >= self.workers:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(timeout, 0.0) or None)

    def _finished(self, name: str, _: asyncio.Task[None]) -> None:
        self._running.pop(name, None)
        self._wake.set()

    async def _pass(self, name: str) -> None:
        started = time.perf_counter()
        try:
            outcome = await self.reconcile_once(name)
            self.metrics.observe_appset_reconcile(
                self.namespace, name, time.perf_counter() - started
            )
        except Exception:  # a bug in one pass must not stop the controller
            log.exception("failed to reconcile ApplicationSet %s/%s", self.namespace, name)
            self.enqueue(name, self.default_requeue)
            return
        if outcome.requeue_after is not None:
            self.enqueue(name, outcome.requeue_after)

    async def _watch(
        self,
        api_version: str,
        kind: str,
        handle: Callable[[str, Mapping[str, Any]], None],
        label_selector: str | None = None,
    ) -> None:
        version = ""
        while True:
            try:
                if not version:
                    listed = await self.client.list(
                        api_version, kind, self.namespace, label_selector=label_selector
                    )
                    for item in listed.items:
                        handle("ADDED", item)
                    version = listed.resource_version
                async for event in self.client.watch(
                    api_version,
                    kind,
                    self.namespace,
                    resource_version=version,
                    label_selector=label_selector,
                ):
                    metadata = event.object.get("metadata") or {}
                    version = str(metadata.get("resourceVersion", version))
                    if event.type != "BOOKMARK":
                        handle(event.type, event.object)
            except Gone:
                version = ""
            except KubeError as error:
                log.warning("watch of %s failed: %s", kind, error)
                version = ""
                await asyncio.sleep(WATCH_BACKOFF)
            except Exception:  # a bug must not end the watch for good: log, relist
                log.exception("watch of %s failed unexpectedly", kind)
                version = ""
                await asyncio.sleep(WATCH_BACKOFF)

    def _on_appset(self, kind: str, obj: Mapping[str, Any]) -> None:
        metadata = obj.get("metadata") or {}
        name = str(metadata.get("name", ""))
        if kind == "DELETED":
            self._due.pop(name, None)
            self._generations.pop(name, None)
            self._cluster_users.discard(name)
            return
        if _uses_clusters((obj.get("spec") or {}).get("generators") or []):
            self._cluster_users.add(name)
        else:
            self._cluster_users.discard(name)
        generation = int(metadata.get("generation") or 0)
        if self._generations.get(name) != generation:
            self._generations[name] = generation
            self.enqueue(name)

    def _on_cluster_secret(self, kind: str, obj: Mapping[str, Any]) -> None:
        # Clusters come and go by Secret: every ApplicationSet with a clusters
        # generator runs again (it has no timed requeue, as in Argo CD).
        for name in sorted(self._cluster_users):
            self.enqueue(name, APP_EVENT_DELAY)

    def _on_application(self, kind: str, obj: Mapping[str, Any]) -> None:
        owner = controller_of(obj)
        if owner is not None:
            self.enqueue(owner[0], APP_EVENT_DELAY)

    # --- one pass ------------------------------------------------------------------

    async def reconcile_once(self, name: str) -> Outcome:
        """Run one full pass for ApplicationSet ``name`` and write its status."""
        try:
            raw = await self.client.get(API_VERSION, APPLICATION_SET_KIND, name, self.namespace)
        except NotFound:
            return Outcome(name)
        try:
            appset = ApplicationSet.from_dict(raw)
        except SpecError as error:
            await self._write_failure(raw, str(error), Reason.APPLICATION_VALIDATION_ERROR)
            return Outcome(name, error=str(error))
        if (raw.get("metadata") or {}).get("deletionTimestamp"):
            return await self._finish_deletion(raw, appset)
        repositories = SnapshotRepositories(self._repositories)
        ctx = GenerationContext(appset, repositories, self._inputs, self._inputs, self.http_timeout)
        try:
            await self._ensure_finalizer(raw, appset)
            results, requeue = await generate(ctx)
        except (GeneratorError, KubeError) as error:
            await self._write_failure(raw, str(error), Reason.APPLICATION_PARAMS_GENERATION_ERROR)
            return Outcome(name, error=str(error), requeue_after=self.default_requeue)
        try:
            step = await self._plan(appset, results)
        except (AppSetError, KubeError) as error:
            await self._write_failure(raw, str(error), Reason.APPLICATION_VALIDATION_ERROR)
            return Outcome(name, error=str(error), requeue_after=self.default_requeue)
        writes = await self._apply(appset, step.plan.actions)
        return await self._report(raw, appset, step, writes, requeue)

    async def _plan(self, appset: ApplicationSet, results: Sequence[Generated]) -> _Step:
        """Render, read the live Applications, and plan the changes."""
        rendered = render_applications(appset, results)
        desired = list(rendered.applications)
        prunes: dict[str, bool] = {}
        if appset.spec.is_progressive:
            for i, app in enumerate(desired):
                desired[i], prunes[app["metadata"]["name"]] = without_automated_sync(app)
        live = await self._live_applications(appset, desired)
        changes = plan(
            appset,
            desired,
            live,
            protected=frozenset(f.application for f in rendered.failures if f.application),
            # A failure without a name might be any Application: delete nothing.
            allow_deletes=all(f.application for f in rendered.failures),
        )
        return _Step(rendered, desired, prunes, live, changes)

    async def _report(
        self,
        raw: Mapping[str, Any],
        appset: ApplicationSet,
        step: _Step,
        writes: _Writes,
        requeue: float | None,
    ) -> Outcome:
        """Advance a rollout, write the status, and describe the pass."""
        live_after = {str(a["metadata"]["name"]): a for a in step.live} | writes.live
        for deleted in writes.done.get(ActionKind.DELETE, []):
            live_after.pop(deleted, None)
        problems = [(Reason.APPLICATION_VALIDATION_ERROR, str(f)) for f in step.rendered.failures]
        problems += [(Reason.APPLICATION_VALIDATION_ERROR, c.message) for c in step.plan.conflicts]
        problems += writes.errors
        conditions = (
            partly_failed([m for _, m in problems], problems[0][0])
            if problems
            else healthy_conditions()
        )
        app_status: Sequence[AppSetApplicationStatus] = ()
        synced: list[str] = []
        if appset.spec.is_progressive:
            changed = frozenset(writes.done.get(ActionKind.UPDATE, []))
            rollout = progress(appset, step.desired, live_after, changed, self.clock.now())
            app_status = rollout.statuses
            conditions.append(rollout_condition(rollout.current_step))
            synced = await self._trigger_syncs(
                step.desired, live_after, rollout.to_sync, step.prunes
            )
        names = [str(a["metadata"]["name"]) for a in step.desired]
        resources = [resource_entry(live_after[n]) for n in names if n in live_after]
        await self._write_status(raw, appset.status.conditions, conditions, resources, app_status)
        return Outcome(
            appset.metadata.name,
            created=tuple(writes.done.get(ActionKind.CREATE, [])),
            updated=tuple(writes.done.get(ActionKind.UPDATE, [])),
            deleted=tuple(writes.done.get(ActionKind.DELETE, [])),
            synced=tuple(synced),
            problems=tuple(m for _, m in problems),
            requeue_after=requeue,
        )

    async def _ensure_finalizer(self, raw: Mapping[str, Any], appset: ApplicationSet) -> None:
        """Add the finalizer that lets a deletion release the Applications first."""
        present = (raw.get("metadata") or {}).get("finalizers") or []
        if _needs_finalizer(appset) and keys.RESOURCES_FINALIZER not in present:
            await self._set_finalizers(raw, [*present, keys.RESOURCES_FINALIZER])

    async def _finish_deletion(self, raw: Mapping[str, Any], appset: ApplicationSet) -> Outcome:
        """Let go of the Applications as the policy says, then let the deletion finish.

        Garbage collection deletes Applications whose owner is gone. When the policy
        forbids deletes, the ownerReferences are removed first so the Applications
        stay; with ``preserveResourcesOnDeletion`` their resources finalizer is removed
        so what they deployed stays.
        """
        finalizers = list((raw.get("metadata") or {}).get("finalizers") or [])
        if keys.RESOURCES_FINALIZER not in finalizers:
            return Outcome(appset.metadata.name)
        policy = appset.spec.sync_policy
        keep_apps = policy is not None and not policy.effective_applications_sync.may_delete
        keep_resources = policy is not None and policy.preserve_resources_on_deletion
        released: list[str] = []
        listed = await self.client.list(API_VERSION, "Application", appset.metadata.namespace)
        for app in listed.items:
            if not owned_by(app, appset):
                continue
            metadata = app["metadata"]
            patch: dict[str, Any] = {}
            if keep_apps:
                others = [
                    r
                    for r in metadata.get("ownerReferences") or []
                    if r.get("uid") != appset.metadata.uid
                ]
                patch["ownerReferences"] = others or None
            if keep_resources:
                kept = [
                    f for f in metadata.get("finalizers") or [] if f not in _RESOURCE_FINALIZERS
                ]
                patch["finalizers"] = kept or None
            if patch:
                await self.client.patch(
                    API_VERSION,
                    "Application",
                    metadata["name"],
                    metadata.get("namespace"),
                    {"metadata": patch},
                    field_manager=FIELD_MANAGER,
                )
                released.append(metadata["name"])
        await self._set_finalizers(raw, [f for f in finalizers if f != keys.RESOURCES_FINALIZER])
        return Outcome(appset.metadata.name, updated=tuple(sorted(released)))

    async def _set_finalizers(self, raw: Mapping[str, Any], finalizers: list[str]) -> None:
        metadata = raw.get("metadata") or {}
        await self.client.patch(
            API_VERSION,
            APPLICATION_SET_KIND,
            str(metadata.get("name")),
            str(metadata.get("namespace") or self.namespace),
            {"metadata": {"finalizers": finalizers or None}},
            field_manager=FIELD_MANAGER,
        )

    async def _live_applications(
        self, appset: ApplicationSet, desired: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        namespaces = {appset.metadata.namespace or self.namespace}
        namespaces |= {str(a["metadata"].get("namespace") or self.namespace) for a in desired}
        live: list[dict[str, Any]] = []
        for namespace in sorted(namespaces):
            live.extend((await self.client.list(API_VERSION, "Application", namespace)).items)
        return live

    async def _apply(self, appset: ApplicationSet, actions: Sequence[Action]) -> _Writes:
        writes = _Writes()
        limit = asyncio.Semaphore(WRITE_CONCURRENCY)
        preserve = bool(
            appset.spec.sync_policy and appset.spec.sync_policy.preserve_resources_on_deletion
        )

        async def run(action: Action) -> None:
            async with limit:
                try:
                    if action.kind is ActionKind.DELETE:
                        assert action.live is not None
                        await self._delete(action.live, preserve=preserve)
                    else:
                        assert action.desired is not None
                        result = await self.client.apply(
                            action.desired, field_manager=FIELD_MANAGER
                        )
                        writes.live[action.name] = result
                except KubeError as error:
                    reason = {
                        ActionKind.CREATE: Reason.CREATE_APPLICATION_ERROR,
                        ActionKind.UPDATE: Reason.UPDATE_APPLICATION_ERROR,
                        ActionKind.DELETE: Reason.DELETE_APPLICATION_ERROR,
                    }[action.kind]
                    writes.errors.append((reason, str(error)))
                    return
                writes.done.setdefault(action.kind, []).append(action.name)

        await asyncio.gather(*(run(a) for a in actions))
        for names in writes.done.values():
            names.sort()
        return writes

    async def _delete(self, app: Mapping[str, Any], *, preserve: bool) -> None:
        metadata = app.get("metadata") or {}
        name, namespace = str(metadata["name"]), str(metadata.get("namespace") or "")
        finalizers = list(metadata.get("finalizers") or [])
        kept = [f for f in finalizers if f not in _RESOURCE_FINALIZERS]
        if preserve and kept != finalizers:
            # The resources finalizer would make the app controller delete what the
            # Application deployed; preserveResourcesOnDeletion keeps those running.
            await self.client.patch(
                API_VERSION,
                "Application",
                name,
                namespace,
                {"metadata": {"finalizers": kept or None}},
                field_manager=FIELD_MANAGER,
            )
        await self.client.delete(
            API_VERSION, "Application", name, namespace, uid=str(metadata.get("uid") or "") or None
        )

    async def _trigger_syncs(
        self,
        desired: Sequence[Mapping[str, Any]],
        live: Mapping[str, Mapping[str, Any]],
        names: Sequence[str],
        prunes: Mapping[str, bool],
    ) -> list[str]:
        by_name = {str(a["metadata"]["name"]): a for a in desired}
        synced = []
        for name in names:
            current = live.get(name) or {}
            phase = ((current.get("status") or {}).get("operationState") or {}).get("phase")
            if current.get("operation") or phase == "Running":
                continue
            operation = sync_operation(by_name[name], prune=prunes.get(name, False))
            namespace = str((current.get("metadata") or {}).get("namespace") or self.namespace)
            try:
                await self.client.patch(
                    API_VERSION,
                    "Application",
                    name,
                    namespace,
                    {"operation": operation},
                    field_manager=FIELD_MANAGER,
                )
            except KubeError as error:
                log.warning("failed to sync Application %s/%s: %s", namespace, name, error)
                continue
            synced.append(name)
        return synced

    async def _write_failure(self, raw: Mapping[str, Any], message: str, reason: Reason) -> None:
        previous = _previous_conditions(raw)
        await self._write_status(raw, previous, generation_failed(message, reason), None, None)

    async def _write_status(
        self,
        raw: Mapping[str, Any],
        previous: Sequence[AppSetCondition],
        conditions: Sequence[AppSetCondition],
        resources: Sequence[Mapping[str, Any]] | None,
        app_status: Sequence[AppSetApplicationStatus] | None,
    ) -> None:
        current = dict(raw.get("status") or {})
        merged = merge_conditions(previous, conditions, self.clock.now())
        document = status_document(merged, resources or [], app_status or [])
        if resources is None:  # a failed pass knows nothing new about the apps
            document["resources"] = current.get("resources") or []
            document["resourcesCount"] = len(document["resources"])
        if app_status is None and "applicationStatus" in current:
            document["applicationStatus"] = current["applicationStatus"]
        target = {k: document.get(k) for k in set(document) | set(current)}
        if all(current.get(k) == v for k, v in target.items()):
            return
        metadata = raw.get("metadata") or {}
        try:
            await self.client.patch(
                API_VERSION,
                APPLICATION_SET_KIND,
                str(metadata.get("name")),
                str(metadata.get("namespace") or self.namespace),
                {"status": target},
                field_manager=FIELD_MANAGER,
                subresource="status",
            )
        except KubeError as error:
            log.warning("failed to write the status of %s: %s", metadata.get("name"), error)


def _uses_clusters(generators: Any) -> bool:
    """Whether any generator (matrix and merge children included) is a clusters one."""
    for generator in generators if isinstance(generators, list) else []:
        if not isinstance(generator, Mapping):
            continue
        if "clusters" in generator:
            return True
        for nested in ("matrix", "merge"):
            body = generator.get(nested)
            if isinstance(body, Mapping) and _uses_clusters(body.get("generators")):
                return True
    return False


def _needs_finalizer(appset: ApplicationSet) -> bool:
    """Whether deleting the ApplicationSet must first release its Applications."""
    policy = appset.spec.sync_policy
    if policy is None:
        return False
    return (
        policy.preserve_resources_on_deletion or not policy.effective_applications_sync.may_delete
    )


def _previous_conditions(raw: Mapping[str, Any]) -> tuple[AppSetCondition, ...]:
    try:
        return ApplicationSet.from_dict(raw).status.conditions
    except SpecError:
        return ()
