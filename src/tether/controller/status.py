"""Writing an Application's ``status``: what changed, and only when it changed.

:func:`comparison_status` turns a :class:`~tether.controller.comparison.Comparison`
into the status fields a refresh owns (sync, health, resources, conditions, summary,
source types); :func:`failure_status` does the same for a refresh that failed, keeping
the last known resources and health. :func:`status_patch` builds the JSON patch that
writes a set of fields, and :func:`needs_write` says whether anything but the
timestamps differs, so an unchanged app costs no write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tether.controller.comparison import Comparison
from tether.model import SyncStatus
from tether.model.application import Application
from tether.model.status import ComparedTo, Condition, Summary, SyncState
from tether.model.wire import format_time

#: Status fields a refresh writes (the operation owns operationState and history).
REFRESH_FIELDS = (
    "sync",
    "health",
    "resources",
    "conditions",
    "summary",
    "sourceType",
    "sourceTypes",
    "reconciledAt",
    "observedAt",
    "controllerNamespace",
)
_TIMESTAMPS = ("reconciledAt", "observedAt")


def merge_conditions(
    previous: Iterable[Condition], current: Iterable[Condition], now: datetime
) -> list[Condition]:
    """``current`` conditions, keeping the transition time of those that did not change."""
    known = {(c.type, c.message): c.last_transition_time for c in previous}
    return [Condition(c.type, c.message, known.get((c.type, c.message)) or now) for c in current]


def _compared_to(app: Application) -> dict[str, Any]:
    return ComparedTo(
        destination=app.spec.destination,
        source=None if app.is_multi_source else app.spec.source,
        sources=app.spec.sources if app.is_multi_source else (),
        ignore_differences=app.spec.ignore_differences,
    ).to_dict()


def comparison_status(
    app: Application,
    comparison: Comparison,
    control_namespace: str,
    now: datetime,
    extra_conditions: Iterable[Condition] = (),
) -> dict[str, Any]:
    """The status fields of a successful refresh (``extra_conditions`` added to its own)."""
    revisions = comparison.revisions
    sync = SyncState(
        status=comparison.sync_status,
        revision=revisions[0] if not app.is_multi_source and revisions else "",
        revisions=revisions if app.is_multi_source else (),
    ).to_dict()
    sync["comparedTo"] = _compared_to(app)
    conditions = merge_conditions(
        app.status.conditions, [*comparison.warnings, *extra_conditions], now
    )
    types = comparison.source_types
    return {
        "sync": sync,
        "health": {"status": comparison.health.status.value}
        | ({"message": comparison.health.message} if comparison.health.message else {}),
        "resources": [r.to_dict() for r in comparison.resources] or None,
        "conditions": [c.to_dict() for c in conditions] or None,
        "summary": Summary(images=comparison.images).to_dict() or None,
        "sourceType": types[0] if types and not app.is_multi_source else None,
        "sourceTypes": list(types) if app.is_multi_source else None,
        "reconciledAt": format_time(now),
        "observedAt": format_time(now),
        "controllerNamespace": control_namespace,
    }


def failure_status(
    app: Application, condition: str, message: str, control_namespace: str, now: datetime
) -> dict[str, Any]:
    """The status fields of a refresh that failed: Unknown sync, one error condition.

    Resources and health stay as last known: a failed render says nothing about them.
    """
    conditions = merge_conditions(app.status.conditions, [Condition(condition, message)], now)
    return {
        "sync": {
            "status": SyncStatus.UNKNOWN.value,
            "comparedTo": _compared_to(app),
        },
        "conditions": [c.to_dict() for c in conditions],
        "reconciledAt": format_time(now),
        "controllerNamespace": control_namespace,
    }


def needs_write(current: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """Whether writing ``fields`` would change ``current`` beyond its timestamps."""
    return any(current.get(key) != value for key, value in fields.items() if key not in _TIMESTAMPS)


def status_patch(
    obj: Mapping[str, Any], fields: Mapping[str, Any], *, clear_operation: bool = False
) -> list[dict[str, Any]]:
    """A JSON patch writing ``fields`` into ``obj.status`` (``None`` removes a field)."""
    current = obj.get("status")
    ops: list[dict[str, Any]] = []
    if not isinstance(current, Mapping):
        ops.append({"op": "add", "path": "/status", "value": {}})
        current = {}
    for key, value in fields.items():
        path = f"/status/{key}"
        if value is None:
            if key in current:
                ops.append({"op": "remove", "path": path})
        else:
            ops.append({"op": "add", "path": path, "value": value})
    if clear_operation and "operation" in obj:
        ops.append({"op": "remove", "path": "/operation"})
    return ops
