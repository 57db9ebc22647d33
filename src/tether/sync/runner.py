"""Running a planned sync as a resumable step machine.

:func:`run_sync` executes a :class:`~tether.sync.plan.SyncPlan` and writes the
operation state after every step through :attr:`SyncContext.save`. The state alone is
enough to resume: a task with a final result in ``syncResult.resources`` is not run
again; a hook this operation created (recognised by the operation's sync id, which is
derived from the persisted state) is awaited rather than recreated; and before each step
the objects applied by earlier steps of its phase are awaited to be healthy, so a crash
between an apply and its health wait loses nothing.

Before the first write, every task is checked against the AppProject and every object
to apply is dry-run on the server: a violation or an invalid object fails the operation
with nothing changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Coroutine, Iterable
from typing import Any, cast

from tether.kube import KubeError, NotFound, UnknownKind
from tether.kube.client import PropagationPolicy
from tether.model import (
    HealthStatus,
    OperationPhase,
    ResourceKey,
    ResultCode,
    SyncPhase,
    format_tracking_id,
    keys,
    parse_tracking_id,
)
from tether.model.operation import OperationState, ResourceResult, SyncOperationResult
from tether.sync.context import SyncContext, sync_id_of
from tether.sync.hookrun import run_hook
from tether.sync.plan import Action, SyncPlan, SyncStep, SyncTask

_FINAL_HOOK_PHASES = (OperationPhase.SUCCEEDED, OperationPhase.FAILED, OperationPhase.ERROR)


class _Terminated(Exception):
    """The user asked to stop the operation."""


class _HealthTimeout(Exception):
    """Objects did not become healthy in time."""


def _result_id(key: ResourceKey, hook_phase: SyncPhase | None) -> tuple[ResourceKey, str]:
    return key, hook_phase.value if hook_phase else ""


class _Run:
    """The mutable bookkeeping of one execution; the persisted truth is the state."""

    def __init__(self, ctx: SyncContext, plan: SyncPlan, state: OperationState) -> None:
        self.ctx = ctx
        self.plan = plan
        self.state = state
        self.sync_id = sync_id_of(state)
        previous = state.sync_result.resources if state.sync_result else ()
        self.results: dict[tuple[ResourceKey, str], ResourceResult] = {
            _result_id(r.key, r.sync_phase if r.hook_type else None): r for r in previous
        }
        operation = state.operation.sync
        self.dry_run = bool(operation and operation.dry_run)
        # What the server answered to this run's writes: the first observation of each
        # object, so the health wait polls only objects that are not healthy yet.
        self.written: dict[ResourceKey, dict[str, Any]] = {}
        # Objects seen healthy by this run; a resumed run starts over and looks again.
        self.confirmed: set[ResourceKey] = set()

    # --- state ---------------------------------------------------------------------

    async def save(self, message: str, phase: OperationPhase = OperationPhase.RUNNING) -> None:
        previous = self.state.sync_result or SyncOperationResult()
        result = dataclasses.replace(previous, resources=tuple(self.results.values()))
        finished = self.ctx.clock() if phase.is_completed else None
        self.state = dataclasses.replace(
            self.state, phase=phase, message=message, sync_result=result, finished_at=finished
        )
        await self.ctx.save(self.state)

    def record(
        self,
        task: SyncTask,
        status: ResultCode | None,
        message: str,
        hook_phase: OperationPhase | None = None,
    ) -> None:
        hook = task.action is Action.HOOK
        api_version = task.api_version
        self.results[_result_id(task.key, task.phase if hook else None)] = ResourceResult(
            group=task.key.group,
            version=api_version.rpartition("/")[2],
            kind=task.key.kind,
            namespace=task.key.namespace,
            name=task.key.name,
            status=status,
            message=message,
            hook_type=task.hook_type,
            hook_phase=hook_phase,
            sync_phase=task.phase,
        )

    def result_of(self, task: SyncTask) -> ResourceResult | None:
        hook = task.action is Action.HOOK
        return self.results.get(_result_id(task.key, task.phase if hook else None))

    def is_done(self, task: SyncTask) -> bool:
        result = self.result_of(task)
        if result is None:
            return False
        if task.action is Action.HOOK:
            return result.hook_phase in _FINAL_HOOK_PHASES
        return result.status is not None

    def check_terminate(self) -> None:
        if self.ctx.terminate.is_set():
            raise _Terminated

    # --- the operation ---------------------------------------------------------------

    async def run(self) -> OperationState:
        for key, reason in self.plan.skipped:
            if "Prune" in reason or "prun" in reason:
                task = SyncTask(key=key, action=Action.PRUNE, phase=SyncPhase.SYNC, wave=0)
                if self.result_of(task) is None:
                    self.record(task, ResultCode.PRUNE_SKIPPED, reason)
        try:
            failures = await self.prechecks()
            if failures:
                await self.save("; ".join(failures[:5]), OperationPhase.FAILED)
                return self.state
            if self.dry_run:
                await self.save("successfully synced (dry run)", OperationPhase.SUCCEEDED)
                return self.state
            await self.ensure_namespace()
            for index, step in enumerate(self.plan.steps):
                if all(self.is_done(t) for t in step.tasks):
                    continue
                await self.wait_for_earlier(step)
                if self.ctx.wave_delay and index:
                    await self.ctx.sleep(self.ctx.wave_delay)
                failed = await self.run_step(step)
                await self.save(failed if failed else f"{step.label} done")
                if self.ctx.after_step is not None:
                    self.ctx.after_step(index + 1)
                if failed:
                    await self.run_fail_hooks()
                    await self.save(failed, OperationPhase.FAILED)
                    return self.state
            await self.wait_for_earlier(None)
        except _Terminated:
            await self.save("Operation terminated", OperationPhase.FAILED)
            return self.state
        except _HealthTimeout as timeout:
            await self.run_fail_hooks()
            await self.save(str(timeout), OperationPhase.FAILED)
            return self.state
        await self.save("successfully synced (all tasks run)", OperationPhase.SUCCEEDED)
        return self.state

    async def prechecks(self) -> list[str]:
        """Project permissions for every task, then a server dry-run of every apply."""
        tasks = [*self.plan.tasks, *self.plan.fail_hooks]
        defined_crds = {
            str((t.target or {}).get("spec", {}).get("group", ""))
            for t in tasks
            if t.key.kind == "CustomResourceDefinition"
        }
        failures: list[str] = []
        for task in tasks:
            problem = await self.permission_problem(task) or self.shared_resource_problem(task)
            if problem:
                failures.append(problem)
                self.record(task, ResultCode.SYNC_FAILED, problem)
        if failures:
            return failures
        dry_runs = [t for t in tasks if t.action in (Action.APPLY, Action.REPLACE, Action.HOOK)]
        # Namespaces this sync creates: objects in them cannot be dry-run before.
        created = {t.key.name for t in tasks if t.key.kind == "Namespace" and not t.key.group}
        if self.ctx.create_namespace and self.ctx.destination.namespace:
            created.add(self.ctx.destination.namespace)
        outcomes = await self.gather(self.dry_run_one(t, defined_crds, created) for t in dry_runs)
        for task, problem in zip(dry_runs, outcomes, strict=True):
            if problem:
                failures.append(problem)
                self.record(task, ResultCode.SYNC_FAILED, problem)
            elif self.dry_run:
                self.record(task, ResultCode.SYNCED, "dry run succeeded")
        return failures

    def shared_resource_problem(self, task: SyncTask) -> str:
        """``FailOnSharedResource=true``: the live object belongs to another application."""
        if not task.options.fail_on_shared_resource or task.live is None:
            return ""
        annotations = (task.live.get("metadata") or {}).get("annotations") or {}
        parsed = parse_tracking_id(str(annotations.get(keys.TRACKING_ID, "")))
        if parsed is None or parsed[0] == self.ctx.app_name:
            return ""
        return (
            f"failed to sync {task.key}: it is already managed by application {parsed[0]} "
            "(FailOnSharedResource=true)"
        )

    async def permission_problem(self, task: SyncTask) -> str:
        project = self.ctx.project
        try:
            resource = await self.ctx.client.discovery.resolve(task.api_version, task.key.kind)
            namespaced = resource.namespaced
        except KubeError:
            namespaced = bool(task.key.namespace)  # a kind this sync's CRDs will add
        allowed = project.is_resource_permitted(task.key.group, task.key.kind, namespaced)
        if not allowed:
            return f"failed to sync {task.key}: {allowed.reason}"
        destination = self.ctx.destination
        namespace = task.key.namespace if namespaced else ""
        allowed = project.is_destination_permitted(destination.server, destination.name, namespace)
        if not allowed:
            return f"failed to sync {task.key}: {allowed.reason}"
        return ""

    async def dry_run_one(
        self, task: SyncTask, defined_crds: set[str], created_namespaces: set[str]
    ) -> str:
        target = self.prepared(task)
        try:
            if task.action is Action.HOOK and not target.get("metadata", {}).get("name"):
                return ""
            await self.ctx.client.apply(target, dry_run=True, validate=task.options.validate)
        except NotFound as error:
            if task.key.namespace in created_namespaces:
                return ""  # its namespace does not exist yet; this sync creates it
            return str(error)
        except UnknownKind as error:
            if task.options.skip_dry_run_on_missing_resource or task.key.group in defined_crds:
                return ""
            return str(error)
        except KubeError as error:
            return str(error)
        return ""

    async def ensure_namespace(self) -> None:
        """``CreateNamespace=true``: apply the destination namespace (with managed metadata)."""
        namespace = self.ctx.destination.namespace
        if not self.ctx.create_namespace or not namespace:
            return
        metadata: dict[str, Any] = {"name": namespace}
        managed = self.ctx.managed_namespace_metadata
        if managed is not None:
            if managed.labels:
                metadata["labels"] = dict(managed.labels)
            if managed.annotations:
                metadata["annotations"] = dict(managed.annotations)
        await self.ctx.client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})

    async def gather(self, coroutines: Iterable[Coroutine[Any, Any, Any]]) -> list[Any]:
        """Await every coroutine, at most ``concurrency`` at a time; results in order.

        A fixed set of workers takes the coroutines in turn: a task per object, each
        queued on a semaphore, cost the client more than a third of what the requests
        themselves cost in a sync of thousands of objects. If one fails, those not
        started yet are closed and the failure propagates.
        """
        work = list(enumerate(coroutines))
        results: list[Any] = [None] * len(work)
        queue = iter(work)

        async def worker() -> None:
            try:
                for index, coroutine in queue:
                    results[index] = await coroutine
            except BaseException:
                for _, left in queue:
                    left.close()
                raise

        workers = min(max(self.ctx.concurrency, 1), len(work))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return results

    async def run_step(self, step: SyncStep) -> str:
        """Run a step's unfinished tasks; returns the first failure message, or ``""``."""
        self.check_terminate()
        pending = [t for t in step.tasks if not self.is_done(t)]
        problems = await self.gather(self.run_task(t) for t in pending)
        return next((p for p in problems if p), "")

    async def run_task(self, task: SyncTask) -> str:
        if task.action is Action.HOOK:
            return await run_hook(self, task)
        if task.action is Action.PRUNE:
            return await self.prune(task)
        return await self.apply(task)

    def prepared(self, task: SyncTask) -> dict[str, Any]:
        """The object to send: the target with this app's tracking id."""
        target = dict(task.target or {})
        metadata = dict(target.get("metadata") or {})
        annotations = dict(metadata.get("annotations") or {})
        annotations[keys.TRACKING_ID] = format_tracking_id(self.ctx.app_name, task.key)
        metadata["annotations"] = annotations
        target["metadata"] = metadata
        return target

    async def apply(self, task: SyncTask) -> str:
        client = self.ctx.client
        target = self.prepared(task)
        before = (task.live or {}).get("metadata", {}).get("resourceVersion")
        try:
            if task.action is Action.REPLACE and task.live is not None:
                if task.options.force:
                    await self.delete(task, "Foreground")
                    result = await client.create(target)
                else:
                    target["metadata"]["resourceVersion"] = before
                    result = await client.replace(target)
            elif task.action is Action.REPLACE:
                result = await client.create(target)
            else:
                result = await self.apply_waiting_for_kind(target, task)
        except KubeError as error:
            self.record(task, ResultCode.SYNC_FAILED, str(error))
            return str(error)
        self.written[task.key] = result
        after = result.get("metadata", {}).get("resourceVersion")
        verb = "created" if task.live is None else "unchanged" if after == before else "configured"
        self.record(task, ResultCode.SYNCED, f"{task.key.kind.lower()}/{task.key.name} {verb}")
        return ""

    async def apply_waiting_for_kind(
        self, target: dict[str, Any], task: SyncTask, attempts: int = 50
    ) -> dict[str, Any]:
        """Apply ``target``; a kind that a CRD of this sync just added is awaited.

        The API server serves a new CRD's kind only once it is established, a moment
        after the CRD was written, so discovery is asked again for a while.
        """
        client = self.ctx.client
        for _ in range(attempts - 1):
            try:
                return await client.apply(target, validate=task.options.validate)
            except UnknownKind:
                self.check_terminate()
                await self.ctx.sleep(self.ctx.poll_interval)
                await client.discovery.refresh()
        return await client.apply(target, validate=task.options.validate)

    async def delete(self, task: SyncTask, propagation: PropagationPolicy) -> None:
        live = task.live or {}
        with contextlib.suppress(NotFound):
            await self.ctx.client.delete(
                task.api_version,
                task.key.kind,
                task.key.name,
                task.key.namespace or None,
                propagation_policy=propagation,
                uid=live.get("metadata", {}).get("uid"),
            )

    async def prune(self, task: SyncTask) -> str:
        policy = cast(PropagationPolicy, task.options.prune_propagation_policy.value.capitalize())
        try:
            await self.delete(task, policy)
        except KubeError as error:
            self.record(task, ResultCode.SYNC_FAILED, str(error))
            return str(error)
        self.record(task, ResultCode.PRUNED, "pruned")
        return ""

    async def wait_for_earlier(self, step: SyncStep | None) -> None:
        """Wait until everything applied before ``step`` in its phase is healthy.

        ``None`` waits for the whole operation's applied objects (the end of the sync).
        """
        earlier: list[SyncTask] = []
        for candidate in self.plan.steps:
            if candidate is step:
                break
            if step is not None and candidate.phase is not step.phase:
                continue
            earlier.extend(t for t in candidate.tasks if t.action in (Action.APPLY, Action.REPLACE))
        if earlier:
            await self.wait_healthy(earlier)

    async def wait_healthy(self, tasks: list[SyncTask]) -> None:
        loop = asyncio.get_running_loop()
        deadline = (
            None if self.ctx.health_timeout is None else loop.time() + self.ctx.health_timeout
        )
        waiting = [
            t
            for t in tasks
            if t.key not in self.confirmed and not self.is_settled(self.written.get(t.key))
        ]
        self.confirmed.update(t.key for t in tasks)
        last_message = ""
        while waiting:
            self.check_terminate()
            observed = await self.gather(self.ctx.observe(t.key, t.api_version) for t in waiting)
            still = [
                t for t, live in zip(waiting, observed, strict=True) if not self.is_settled(live)
            ]
            if not still:
                return
            waiting = still
            message = f"waiting for healthy state of {still[0].key}" + (
                f" and {len(still) - 1} more" if len(still) > 1 else ""
            )
            if message != last_message:
                await self.save(message)
                last_message = message
            if deadline is not None and loop.time() > deadline:
                raise _HealthTimeout(f"timed out {message}")
            await self.ctx.sleep(self.ctx.poll_interval)

    def is_settled(self, live: dict[str, Any] | None) -> bool:
        """Whether a live object lets the sync go on: it exists and is no longer Progressing.

        As in Argo CD, a Degraded object does not hold the sync: the operation completes
        and the application's health says Degraded (waiting on it would keep every later
        sync, including the one that fixes it, from starting).
        """
        if live is None:
            return False
        health = self.ctx.assess(live)
        return health is None or health.status is not HealthStatus.PROGRESSING

    async def run_fail_hooks(self) -> None:
        for task in self.plan.fail_hooks:
            if not self.is_done(task):
                await run_hook(self, task)


async def run_sync(ctx: SyncContext, plan: SyncPlan, state: OperationState) -> OperationState:
    """Run (or resume) the sync described by ``plan``; returns the final operation state."""
    return await _Run(ctx, plan, state).run()
