"""Kubernetes Events on Applications, from the transitions the watch sees.

Reasons are Argo CD's: ``OperationStarted`` (a sync or rollback began),
``OperationCompleted`` (it succeeded, Normal, or failed, Warning; a self-heal sync says
it reverted drift), ``ResourceUpdated`` (sync or health status changed) and, for
notifications that could not be rendered or sent, ``NotificationFailed`` (Warning).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

COMPONENT: Final = "tether-notifications-controller"


@dataclass(frozen=True, slots=True)
class AppEvent:
    """One Event to write about an Application."""

    reason: str
    message: str
    type: str = "Normal"


def _get(obj: Mapping[str, Any] | None, *path: str) -> Any:
    value: Any = obj
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _revision(state: Mapping[str, Any]) -> str:
    # A finished operation knows the revision it resolved; a running one only the asked one.
    result = _get(state, "syncResult", "revision") if state.get("phase") != "Running" else None
    return str(result or _get(state, "operation", "sync", "revision") or "HEAD")


def _initiator(state: Mapping[str, Any]) -> str:
    by = _get(state, "operation", "initiatedBy") or {}
    if by.get("automated"):
        return "automated"
    return str(by.get("username") or "Unknown user")


def transitions(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[AppEvent]:
    """The Events that the change from ``old`` to ``new`` (same app) calls for."""
    events: list[AppEvent] = []
    before = _get(old, "status", "operationState") or {}
    after = _get(new, "status", "operationState") or {}
    same_operation = before.get("startedAt") == after.get("startedAt")
    phase = after.get("phase")
    if after and phase == "Running" and not (same_operation and before.get("phase") == "Running"):
        sync = _get(after, "operation", "sync") or {}
        verb = "rollback" if sync.get("source") or sync.get("sources") else "sync"
        who = _initiator(after)
        text = "Initiated automated" if who == "automated" else f"{who} initiated"
        events.append(AppEvent("OperationStarted", f"{text} {verb} to {_revision(after)}"))
    if phase in ("Succeeded", "Failed", "Error") and not (
        same_operation and before.get("phase") == phase
    ):
        healed = (_get(after, "operation", "sync", "autoHealAttemptsCount") or 0) > 0
        if phase == "Succeeded":
            prefix = "Self-heal reverted drift: " if healed else ""
            events.append(
                AppEvent(
                    "OperationCompleted",
                    f"{prefix}Sync operation to {_revision(after)} succeeded",
                )
            )
        else:
            message = after.get("message") or phase.lower()
            events.append(
                AppEvent(
                    "OperationCompleted",
                    f"Sync operation to {_revision(after)} failed: {message}",
                    "Warning",
                )
            )
    for label, path in (("sync", ("sync", "status")), ("health", ("health", "status"))):
        was, now = _get(old, "status", *path), _get(new, "status", *path)
        if now and was != now:
            events.append(
                AppEvent("ResourceUpdated", f"Updated {label} status: {was or 'Unknown'} -> {now}")
            )
    return events


def event_object(app: Mapping[str, Any], event: AppEvent, now: datetime) -> dict[str, Any]:
    """The ``core/v1`` Event for ``event`` on ``app``, in the app's namespace."""
    metadata = app.get("metadata") or {}
    name = str(metadata.get("name", "app"))
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{name[:200]}.{uuid.uuid4().hex[:16]}",
            "namespace": metadata.get("namespace"),
        },
        "involvedObject": {
            "apiVersion": app.get("apiVersion", "argoproj.io/v1alpha1"),
            "kind": "Application",
            "name": name,
            "namespace": metadata.get("namespace"),
            "uid": metadata.get("uid"),
            "resourceVersion": metadata.get("resourceVersion"),
        },
        "reason": event.reason,
        "message": event.message,
        "type": event.type,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
