"""Running one hook: create it (once per operation), await its completion, clean up.

A hook is complete when its health says so: a Job or Pod that succeeded is Healthy, one
that failed is Degraded; a hook of a kind without a health check completes once it
exists. Delete policies are Argo CD's: ``BeforeHookCreation`` (the default) deletes a
hook left by an earlier operation before creating it again, ``HookSucceeded`` and
``HookFailed`` delete it after the outcome they name.

The created object carries the annotation ``tether.dev/sync-id: <sync id>/<phase>``;
a resumed operation finding it adopts it and waits, so a hook never runs twice. So does
a creation whose answer was lost (a 5xx or a dropped connection) when the hook exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tether.kube import AlreadyExists, KubeError, Unavailable
from tether.model import HealthStatus, HookDeletePolicy, OperationPhase, ResultCode, keys

if TYPE_CHECKING:
    from tether.sync.plan import SyncTask
    from tether.sync.runner import _Run


def _marker(run: _Run, task: SyncTask) -> str:
    return f"{run.sync_id}/{task.phase.value}"


def _is_ours(run: _Run, task: SyncTask, live: Mapping[str, Any] | None) -> bool:
    if live is None:
        return False
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    return bool(annotations.get(keys.SYNC_ID) == _marker(run, task))


async def run_hook(run: _Run, task: SyncTask) -> str:
    """Run ``task``'s hook to completion; returns a failure message or ``""``."""
    ctx = run.ctx
    api_version = task.api_version
    result = run.result_of(task)
    if result is not None and result.hook_phase is OperationPhase.SUCCEEDED:
        return ""
    if result is not None and result.hook_phase in (OperationPhase.FAILED, OperationPhase.ERROR):
        return result.message

    live = await ctx.observe(task.key, api_version)
    if not _is_ours(run, task, live):
        if live is not None:
            if HookDeletePolicy.BEFORE_HOOK_CREATION not in task.delete_policies:
                message = f"failed to create hook {task.key}: it exists from an earlier sync"
                run.record(task, ResultCode.SYNC_FAILED, message, OperationPhase.FAILED)
                return message
            try:
                await run.delete(task, "Background")
                await _wait_gone(run, task)
            except KubeError as error:
                run.record(task, ResultCode.SYNC_FAILED, str(error), OperationPhase.FAILED)
                return str(error)
        target = run.prepared(task)
        target["metadata"]["annotations"][keys.SYNC_ID] = _marker(run, task)
        try:
            await ctx.client.create(target)
        except AlreadyExists:
            pass  # created by this operation before a restart; adopted below
        except Unavailable as error:
            # No answer, or a 5xx: the server may have created the hook all the same. If
            # it did, the hook runs; failing here would run it a second time on retry.
            if not _is_ours(run, task, await ctx.observe(task.key, api_version)):
                run.record(task, ResultCode.SYNC_FAILED, str(error), OperationPhase.FAILED)
                return str(error)
        except KubeError as error:
            run.record(task, ResultCode.SYNC_FAILED, str(error), OperationPhase.FAILED)
            return str(error)
    run.record(task, None, "hook running", OperationPhase.RUNNING)
    await run.save(f"running {task.phase.value} hook {task.key}")

    succeeded, message = await _await_completion(run, task, api_version)
    run.record(
        task,
        ResultCode.SYNCED if succeeded else ResultCode.SYNC_FAILED,
        message,
        OperationPhase.SUCCEEDED if succeeded else OperationPhase.FAILED,
    )
    wanted = HookDeletePolicy.HOOK_SUCCEEDED if succeeded else HookDeletePolicy.HOOK_FAILED
    if wanted in task.delete_policies:
        try:
            await run.delete(task, "Background")
        except KubeError as error:
            message = f"{message}; {error}"
    return "" if succeeded else f"{task.phase.value} hook {task.key} failed: {message}"


async def _await_completion(run: _Run, task: SyncTask, api_version: str) -> tuple[bool, str]:
    ctx = run.ctx
    while True:
        run.check_terminate()
        live = await ctx.observe(task.key, api_version)
        if live is None:
            return False, "hook was deleted before it completed"
        health = ctx.assess(live)
        if health is None or health.status is HealthStatus.HEALTHY:
            return True, health.message if health and health.message else "hook completed"
        if health.status is HealthStatus.DEGRADED:
            return False, health.message or "hook failed"
        await ctx.sleep(ctx.poll_interval)


async def _wait_gone(run: _Run, task: SyncTask) -> None:
    while await run.ctx.observe(task.key, task.api_version) is not None:
        run.check_terminate()
        await run.ctx.sleep(run.ctx.poll_interval)
