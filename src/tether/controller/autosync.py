"""Automated sync: when an OutOfSync application gets a sync without anyone asking.

Argo CD's rules, which :func:`decide_auto_sync` follows:

- only when ``syncPolicy.automated`` is on, no operation is running or requested, and the
  comparison says OutOfSync;
- once per (revision, spec): when the last automated sync was to the same revision(s)
  of the same source(s), it is not repeated (a failed one is retried only by
  ``syncPolicy.retry``); a changed source (path, Helm values, ...) syncs again;
- except with ``selfHeal``: drift after a successful sync is synced again, but only after
  a back-off that grows with each consecutive heal (2 s, 6 s, 18 s, ... capped);
- never when the sync would prune every resource and ``allowEmpty`` is off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tether.controller.comparison import Comparison
from tether.controller.settings import ControllerSettings
from tether.model import OperationPhase, SyncStatus
from tether.model.application import Application
from tether.model.operation import Operation, OperationInitiator, SyncOperation
from tether.model.status import Condition, ConditionType


@dataclass(frozen=True, slots=True)
class AutoSyncDecision:
    """Start ``operation`` now; or, with ``operation`` None, ``reason`` why not.

    ``retry_after`` asks for another look later (a self-heal waiting for its back-off);
    ``is_error`` marks a reason the app's status shows as a ``SyncError`` condition (a
    refused wipe-out, a failed attempt not retried), as Argo CD does.
    """

    operation: Operation | None
    reason: str = ""
    retry_after: float | None = None
    is_error: bool = False

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The condition this decision puts on the app, if any."""
        if not self.is_error:
            return ()
        return (Condition(ConditionType.SYNC_ERROR.value, self.reason),)


def _revisions_of(operation: Operation | None) -> tuple[str, ...]:
    sync = operation.sync if operation else None
    if sync is None:
        return ()
    return sync.revisions or ((sync.revision,) if sync.revision else ())


def decide_auto_sync(
    app: Application, comparison: Comparison, settings: ControllerSettings, now: datetime
) -> AutoSyncDecision:
    """Whether to start an automated sync of ``app`` after ``comparison``."""
    policy = app.spec.sync_policy
    automated = policy.automated if policy else None
    if automated is None or not app.is_automated:
        return AutoSyncDecision(None, "automated sync is off")
    if app.operation is not None:
        return AutoSyncDecision(None, "an operation is already requested")
    last = app.status.operation_state
    if last is not None and not last.is_completed:
        return AutoSyncDecision(None, "an operation is running")
    if comparison.sync_status is not SyncStatus.OUT_OF_SYNC:
        return AutoSyncDecision(None, f"application is {comparison.sync_status.value}")
    if automated.prune and not automated.allow_empty and comparison.is_empty:
        return AutoSyncDecision(
            None,
            f"Skipping sync attempt to {', '.join(comparison.revisions)}: auto-sync will wipe "
            "out all resources",
            is_error=True,
        )
    revisions = comparison.revisions
    heal_attempts = 0
    if last is not None and last.operation.initiated_by and last.operation.initiated_by.automated:
        result = last.sync_result
        # A state recorded without its source says nothing about it: count it as the same.
        same_spec = (
            result is None
            or (result.source is None and not result.sources)
            or (
                (result.source, result.sources)
                == (
                    None if app.is_multi_source else app.spec.source,
                    app.spec.sources if app.is_multi_source else (),
                )
            )
        )
        same_revision = _revisions_of(last.operation) == revisions and same_spec
        if same_revision and last.phase is not OperationPhase.SUCCEEDED:
            return AutoSyncDecision(
                None,
                f"Failed sync attempt to {', '.join(revisions)}: {last.message}",
                is_error=True,
            )
        if same_revision:
            if not automated.self_heal:
                return AutoSyncDecision(None, f"already synced to {revisions}; selfHeal is off")
            previous = last.operation.sync.auto_heal_attempts_count if last.operation.sync else 0
            delay = settings.self_heal_delay(previous)
            finished = last.finished_at or last.started_at
            waited = (now - finished).total_seconds()
            # A last sync "in the future" means the clock went back: how long ago it
            # really was is unknown, and waiting for the clock to pass it again would
            # last as long as the jump. Heal now; the back-off counts from this heal.
            if 0 <= waited < delay:
                return AutoSyncDecision(
                    None, "waiting for the self-heal back-off", retry_after=delay - waited
                )
            heal_attempts = previous + 1
    sync = SyncOperation(
        revision=revisions[0] if len(revisions) == 1 else "",
        revisions=revisions if len(revisions) > 1 else (),
        prune=automated.prune,
        sync_options=policy.sync_options if policy else (),
        auto_heal_attempts_count=heal_attempts,
    )
    return AutoSyncDecision(
        Operation(
            sync=sync,
            initiated_by=OperationInitiator(automated=True),
            retry=policy.retry if policy else None,
        )
    )
