"""Running an Application's operation and recording its outcome.

A sync is requested by writing the Application's top-level ``operation`` (the CLI, the
API and automated sync all do this, as in Argo CD). :class:`OperationRunner` turns the
request into ``status.operationState`` (phase Running), runs the sync engine with a
``save`` that writes the state after every step, and at the end records the outcome:
a history entry for a successful sync, a retry (``syncPolicy.retry``) for a failed one,
and the request removed. A controller restarted in the middle finds the Running state
and resumes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from tether.controller.clusters import ClusterConnection
from tether.controller.comparison import (
    AppComparer,
    ComparisonFailed,
    LiveStateUnavailable,
    tracking_name,
)
from tether.controller.deletion import is_delete_hook
from tether.controller.settings import ControllerSettings
from tether.health import assess_health
from tether.kube import KubeError
from tether.model import OperationPhase, ResourceKey
from tether.model.application import Application
from tether.model.operation import Operation, OperationState, SyncOperationResult
from tether.model.project import AppProject
from tether.model.status import RevisionHistory
from tether.model.syncoptions import SyncOptions
from tether.sync import Destination, SyncContext, name_hooks, plan_sync, run_sync, sync_id_of

log = logging.getLogger(__name__)

#: The phases ``syncPolicy.retry`` retries.
_RETRIED = (OperationPhase.FAILED, OperationPhase.ERROR)

#: Writes ``status`` fields of an Application (``None`` removes a field); also removes
#: the top-level ``operation`` when ``clear_operation``.
StatusWriter = Callable[[Application, Mapping[str, Any], bool], Awaitable[None]]


def with_operation_sources(app: Application, operation: Operation) -> Application:
    """``app`` as the operation syncs it: with the operation's source(s), when it names any.

    A rollback names the source recorded in history (a path or Helm values may have
    changed since); any other sync uses the app's spec.
    """
    sync = operation.sync
    if sync is None or not (sync.source or sync.sources):
        return app
    if sync.sources:
        spec = dataclasses.replace(app.spec, source=None, sources=sync.sources)
    else:
        spec = dataclasses.replace(app.spec, source=sync.source, sources=())
    return dataclasses.replace(app, spec=spec)


def new_operation_state(
    operation: Operation, now: datetime, retry_count: int = 0
) -> OperationState:
    """The state of an operation that starts now."""
    return OperationState(
        operation=operation, phase=OperationPhase.RUNNING, started_at=now, retry_count=retry_count
    )


class OperationRunner:
    """Runs sync operations for the application controller."""

    def __init__(
        self,
        comparer: AppComparer,
        write_status: StatusWriter,
        *,
        control_namespace: str,
        clock: Callable[[], datetime],
        poll_interval: float = 0.5,
    ) -> None:
        self.comparer = comparer
        self.write_status = write_status
        self.control_namespace = control_namespace
        self.clock = clock
        self.poll_interval = poll_interval

    async def run(
        self,
        app: Application,
        project: AppProject,
        connection: ClusterConnection,
        settings: ControllerSettings,
        state: OperationState,
        terminate: Any,
    ) -> OperationState:
        """Run (or resume) ``state`` for ``app``; returns the final state, already written."""
        sync = state.operation.sync
        if sync is None:
            final = dataclasses.replace(
                state,
                phase=OperationPhase.ERROR,
                message="only sync operations are supported",
                finished_at=self.clock(),
            )
            await self.finish(app, final)
            return final
        revisions = sync.revisions or ((sync.revision,) if sync.revision else ())
        app = with_operation_sources(app, state.operation)
        try:
            comparison = await self.comparer.compare(
                app, connection, settings, revisions=revisions, refresh_repositories=False
            )
        except LiveStateUnavailable as error:
            if terminate.is_set():
                final = dataclasses.replace(
                    state,
                    phase=OperationPhase.FAILED,
                    message="Operation terminated",
                    finished_at=self.clock(),
                )
                await self.finish(app, final)
                return final
            # The cluster cannot be read just now (it restarts, the network dropped).
            # Ending the operation would have a retry start it over and run the hooks it
            # already completed: it stays Running and is resumed after a back-off, its
            # message saying what it waits for.
            waiting = dataclasses.replace(
                state, message=f"waiting for the cluster: {error.message}"
            )
            with contextlib.suppress(KubeError):
                await self.write_status(app, {"operationState": waiting.to_dict()}, False)
            raise
        except ComparisonFailed as error:
            final = dataclasses.replace(
                state,
                phase=OperationPhase.ERROR,
                message=f"ComparisonError: {error.message}",
                finished_at=self.clock(),
            )
            await self.finish(app, final)
            return final
        automated = app.spec.sync_policy.automated if app.spec.sync_policy else None
        allow_empty = bool(automated and automated.allow_empty)
        if comparison.is_empty and sync.prune and not allow_empty and comparison.prune_candidates:
            # Never turn a render that yields nothing into the deletion of everything.
            final = dataclasses.replace(
                state,
                phase=OperationPhase.FAILED,
                message="refusing to sync: the desired state is empty and pruning would "
                "delete every resource (allowEmpty is off)",
                finished_at=self.clock(),
            )
            await self.finish(app, final)
            return final
        options = app.sync_options.overridden_by(SyncOptions.parse(sync.sync_options))
        desired = name_hooks(
            [o for o in comparison.desired if not is_delete_hook(o)], sync_id_of(state)
        )
        if options.respect_ignore_differences:
            # Fields the app ignores keep their live values instead of being reset.
            desired = [
                self.comparer.respect_ignore_differences(
                    app, obj, comparison.live.get(ResourceKey.of(obj))
                )
                for obj in desired
            ]
        selected = (
            {
                key
                for key in {ResourceKey.of(o) for o in desired} | set(comparison.live)
                if sync.selects(key)
            }
            if sync.resources
            else None
        )
        plan = plan_sync(
            desired,
            comparison.live,
            options=options,
            prune=sync.prune,
            prune_candidates=comparison.prune_candidates,
            selected=selected,
            out_of_sync=comparison.out_of_sync,
        )
        state = dataclasses.replace(
            state,
            sync_result=dataclasses.replace(
                state.sync_result or SyncOperationResult(),
                revision=comparison.revisions[0] if len(comparison.revisions) == 1 else "",
                revisions=comparison.revisions if len(comparison.revisions) > 1 else (),
                source=None if app.is_multi_source else app.spec.source,
                sources=app.spec.sources if app.is_multi_source else (),
            ),
        )

        saved = state

        async def save(current: OperationState) -> None:
            nonlocal saved
            if current.is_completed:
                return  # finish() writes the outcome with its history entry, in one patch
            await self.write_status(app, {"operationState": current.to_dict()}, False)
            saved = current

        destination = app.spec.destination
        context = SyncContext(
            client=connection.client,
            app_name=tracking_name(app, self.control_namespace),
            project=project,
            destination=Destination(connection.server, connection.name, destination.namespace),
            save=save,
            assess=lambda obj: assess_health(
                obj, overrides=settings.health_overrides, policy=settings.health_policy
            ),
            create_namespace=options.create_namespace,
            managed_namespace_metadata=app.spec.sync_policy.managed_namespace_metadata
            if app.spec.sync_policy
            else None,
            poll_interval=self.poll_interval,
            # The controller's clock, as for startedAt: the retry and self-heal back-offs
            # subtract one from the other.
            clock=self.clock,
            terminate=terminate,
        )
        try:
            final = await run_sync(context, plan, state)
        except KubeError as error:
            # A request outside any task's own outcome failed (reading a hook's or an
            # object's state, creating the namespace): the operation stays Running and is
            # resumed after a back-off. Meanwhile its message names the cause.
            retrying = dataclasses.replace(saved, message=f"retrying after an error: {error}")
            with contextlib.suppress(KubeError):
                await self.write_status(app, {"operationState": retrying.to_dict()}, False)
            raise
        await self.finish(app, final, comparison.revisions)
        return final

    @staticmethod
    def retry_delay(final: OperationState) -> float | None:
        """Seconds until a failed operation is retried, or ``None`` when it is not.

        An operation that ended in Error (its comparison failed: the repository or the
        cluster could not be read) is retried like one that Failed, as in Argo CD.
        """
        retry = final.operation.retry
        if final.phase not in _RETRIED or retry is None:
            return None
        if final.message == "Operation terminated" or not retry.allows_retry(final.retry_count):
            return None
        return retry.delay_seconds(final.retry_count)

    async def finish(
        self, app: Application, final: OperationState, revisions: tuple[str, ...] = ()
    ) -> None:
        """Record the outcome: history on success; the request is removed unless it is retried."""
        changes: dict[str, Any] = {"operationState": final.to_dict()}
        sync = final.operation.sync
        if final.phase is OperationPhase.SUCCEEDED and sync is not None and not sync.dry_run:
            history = list(app.status.history)
            entry = RevisionHistory(
                id=max((h.id for h in history), default=-1) + 1,
                deployed_at=final.finished_at or self.clock(),
                deploy_started_at=final.started_at,
                revision=revisions[0] if len(revisions) == 1 else "",
                revisions=revisions if len(revisions) > 1 else (),
                source=None if app.is_multi_source else app.spec.source,
                sources=app.spec.sources if app.is_multi_source else (),
                initiated_by=final.operation.initiated_by,
            )
            history.append(entry)
            limit = app.spec.history_limit
            changes["history"] = [h.to_dict() for h in history[-limit:]] if limit > 0 else None
        await self.write_status(app, changes, self.retry_delay(final) is None)
