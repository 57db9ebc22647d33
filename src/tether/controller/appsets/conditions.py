"""The ApplicationSet's ``status``: conditions, resources and rollout progress.

Conditions follow Argo CD: ``ErrorOccurred``, ``ParametersGenerated``,
``ResourcesUpToDate`` and, with RollingSync, ``RollingSync``. A condition's
``lastTransitionTime`` moves only when its status changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from tether.model.application import GROUP, VERSION
from tether.model.appsetstatus import (
    ApplicationSetStatus,
    AppSetApplicationStatus,
    AppSetCondition,
    AppSetConditionReason,
    AppSetConditionType,
    ConditionStatus,
)

UP_TO_DATE_MESSAGE: Final = "All applications have been generated successfully"
PARAMETERS_MESSAGE: Final = "Successfully generated parameters for all Applications"

T, F = ConditionStatus.TRUE, ConditionStatus.FALSE
Reason = AppSetConditionReason
Type = AppSetConditionType


def healthy_conditions() -> list[AppSetCondition]:
    """The conditions of a pass where everything went well."""
    return [
        AppSetCondition(
            Type.ERROR_OCCURRED, F, UP_TO_DATE_MESSAGE, Reason.APPLICATION_SET_UP_TO_DATE
        ),
        AppSetCondition(
            Type.PARAMETERS_GENERATED, T, PARAMETERS_MESSAGE, Reason.PARAMETERS_GENERATED
        ),
        AppSetCondition(
            Type.RESOURCES_UP_TO_DATE, T, UP_TO_DATE_MESSAGE, Reason.APPLICATION_SET_UP_TO_DATE
        ),
    ]


def generation_failed(message: str, reason: Reason) -> list[AppSetCondition]:
    """The conditions of a pass stopped before any change (generator or template error)."""
    return [
        AppSetCondition(Type.ERROR_OCCURRED, T, message, reason),
        AppSetCondition(Type.PARAMETERS_GENERATED, F, message, reason),
        AppSetCondition(Type.RESOURCES_UP_TO_DATE, F, message, reason),
    ]


def partly_failed(messages: Sequence[str], reason: Reason) -> list[AppSetCondition]:
    """Parameters were generated, but some Applications could not be written."""
    message = "; ".join(messages)
    return [
        AppSetCondition(Type.ERROR_OCCURRED, T, message, reason),
        AppSetCondition(
            Type.PARAMETERS_GENERATED, T, PARAMETERS_MESSAGE, Reason.PARAMETERS_GENERATED
        ),
        AppSetCondition(Type.RESOURCES_UP_TO_DATE, F, message, reason),
    ]


def rollout_condition(current_step: int | None) -> AppSetCondition:
    """The ``RollingSync`` condition: progressing through a step, or complete."""
    if current_step is None:
        return AppSetCondition(
            Type.ROLLING_SYNC,
            F,
            "ApplicationSet Rollout has completed",
            Reason.APPLICATION_SET_ROLLOUT_COMPLETE,
        )
    return AppSetCondition(
        Type.ROLLING_SYNC,
        T,
        f"ApplicationSet is performing rollout of step {current_step}",
        Reason.APPLICATION_SET_ROLLOUT_PROGRESSING,
    )


def merge_conditions(
    previous: Iterable[AppSetCondition], current: Iterable[AppSetCondition], now: datetime
) -> tuple[AppSetCondition, ...]:
    """``current`` with transition times kept where the status did not change."""
    before = {c.type: c for c in previous}
    out = []
    for condition in current:
        old = before.get(condition.type)
        moved = old is None or old.status != condition.status or old.last_transition_time is None
        stamp = now if moved or old is None else old.last_transition_time
        out.append(replace(condition, last_transition_time=stamp))
    return tuple(out)


def resource_entry(app: Mapping[str, Any]) -> dict[str, Any]:
    """One ``status.resources`` entry for a generated Application."""
    metadata = app.get("metadata") or {}
    status = app.get("status") or {}
    entry: dict[str, Any] = {
        "group": GROUP,
        "version": VERSION,
        "kind": "Application",
        "namespace": metadata.get("namespace", ""),
        "name": metadata.get("name", ""),
    }
    sync = (status.get("sync") or {}).get("status")
    if sync:
        entry["status"] = sync
    health = status.get("health") or {}
    if health.get("status"):
        entry["health"] = {k: v for k, v in health.items() if k in ("status", "message")}
    return entry


def status_document(
    conditions: Sequence[AppSetCondition],
    resources: Sequence[Mapping[str, Any]],
    application_status: Sequence[AppSetApplicationStatus],
) -> dict[str, Any]:
    """The wire form of ``status`` written to the status subresource."""
    status = ApplicationSetStatus(
        conditions=tuple(conditions), application_status=tuple(application_status)
    ).to_dict()
    status["resources"] = [dict(r) for r in resources]
    status["resourcesCount"] = len(resources)
    return status
