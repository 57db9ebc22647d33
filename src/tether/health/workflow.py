"""Argo Workflows ``Workflow`` health, from ``status.phase`` (built into Argo CD too).

No phase yet, ``Pending`` or ``Running`` → Progressing; ``Succeeded`` → Healthy;
``Failed`` or ``Error`` → Degraded; anything else → Unknown. The message is the
workflow's ``status.message``.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus

_BY_PHASE = {
    "": HealthStatus.PROGRESSING,
    "Pending": HealthStatus.PROGRESSING,
    "Running": HealthStatus.PROGRESSING,
    "Succeeded": HealthStatus.HEALTHY,
    "Failed": HealthStatus.DEGRADED,
    "Error": HealthStatus.DEGRADED,
}


def check_workflow(obj: Object) -> Health:
    """Judge an ``argoproj.io`` Workflow of any version."""
    phase = fields.text(obj, "status", "phase")
    message = fields.text(obj, "status", "message")
    return Health(_BY_PHASE.get(phase, HealthStatus.UNKNOWN), message)
