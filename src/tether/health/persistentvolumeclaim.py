"""PersistentVolumeClaim health, from ``status.phase``.

``Bound`` → Healthy; ``Pending`` → Progressing (waiting for a volume, or for a first
consumer with ``WaitForFirstConsumer`` storage classes); ``Lost`` → Degraded (its volume
is gone); anything else → Unknown.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus

_BY_PHASE = {
    "Bound": HealthStatus.HEALTHY,
    "Pending": HealthStatus.PROGRESSING,
    "Lost": HealthStatus.DEGRADED,
}


def check_persistentvolumeclaim(obj: Object) -> Health:
    """Judge a ``v1`` PersistentVolumeClaim."""
    phase = fields.text(obj, "status", "phase")
    return Health(_BY_PHASE.get(phase, HealthStatus.UNKNOWN))
