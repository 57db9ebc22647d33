"""Sync gates: what must hold before a sync of an application may start.

Two gates, checked before an automated sync is requested and before a requested
operation starts (an operation already under way is never stopped by them):

- the project's sync windows (:mod:`~tether.controller.syncwindows`);
- the app's ``tether.dev/depends-on`` dependencies
  (:mod:`~tether.controller.dependencies`).

A closed gate is reported as a condition on the app (``SyncWindowWarning``,
``DependencyWaitWarning``, ``DependencyCycleError``) and, for a requested operation, as
the message of its ``operationState`` while it waits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tether.controller.dependencies import AppLookup, evaluate_dependencies
from tether.controller.syncwindows import WindowError, evaluate_windows
from tether.model.application import Application
from tether.model.project import AppProject
from tether.model.status import Condition

#: A sync window keeps the app from syncing.
SYNC_WINDOW_WARNING = "SyncWindowWarning"
#: The app waits for the apps it depends on.
DEPENDENCY_WAIT_WARNING = "DependencyWaitWarning"
#: The app's dependencies form a cycle: its syncs can never start.
DEPENDENCY_CYCLE_ERROR = "DependencyCycleError"

#: How often a gate waiting on other apps is looked at again without an event.
DEPENDENCY_RECHECK_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class SyncGate:
    """Whether a sync may start now.

    When it may not: ``reason`` (for the operation's message), ``conditions`` (for the
    app's status), ``recheck_after`` seconds until the verdict may change without any
    event, and ``waiting_on``, the apps whose changes may open it.
    """

    allowed: bool
    reason: str = ""
    conditions: tuple[Condition, ...] = ()
    recheck_after: float | None = None
    waiting_on: tuple[str, ...] = ()


OPEN = SyncGate(True)


def evaluate_gate(
    key: str,
    obj: Mapping[str, Any],
    app: Application,
    project: AppProject,
    lookup: AppLookup,
    now: datetime,
    *,
    manual: bool,
) -> SyncGate:
    """The gate for a (``manual`` or automated) sync of the app ``key`` at ``now``."""
    dependencies = evaluate_dependencies(key, obj, lookup)
    if dependencies.cycle:
        return SyncGate(
            False,
            dependencies.reason,
            (Condition(DEPENDENCY_CYCLE_ERROR, dependencies.reason),),
        )
    try:
        window = evaluate_windows(project.spec.sync_windows, app, now, manual=manual)
    except WindowError as error:
        return SyncGate(False, str(error), (Condition(SYNC_WINDOW_WARNING, str(error)),))
    if not window.allowed:
        recheck = None
        if window.recheck_at is not None:
            recheck = max(0.0, (window.recheck_at - now).total_seconds())
        return SyncGate(
            False, window.reason, (Condition(SYNC_WINDOW_WARNING, window.reason),), recheck
        )
    if not dependencies.allowed:
        return SyncGate(
            False,
            dependencies.reason,
            (Condition(DEPENDENCY_WAIT_WARNING, dependencies.reason),),
            DEPENDENCY_RECHECK_SECONDS,
            dependencies.waiting_on,
        )
    return OPEN


def cycle_conditions(key: str, obj: Mapping[str, Any], lookup: AppLookup) -> tuple[Condition, ...]:
    """A ``DependencyCycleError`` when the app's dependencies loop back to it."""
    verdict = evaluate_dependencies(key, obj, lookup)
    if verdict.cycle:
        return (Condition(DEPENDENCY_CYCLE_ERROR, verdict.reason),)
    return ()
