"""APIService health (``apiregistration.k8s.io``), from its ``Available`` condition.

``True`` → Healthy; any other status → Progressing; both with ``"<reason>: <message>"``.
No ``Available`` condition yet → Progressing, "Waiting to be processed".
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus


def check_apiservice(obj: Object) -> Health:
    """Judge an ``apiregistration.k8s.io/v1`` or ``v1beta1`` APIService."""
    available = fields.condition(obj, "Available")
    if available is None:
        return Health(HealthStatus.PROGRESSING, "Waiting to be processed")
    message = f"{fields.text(available, 'reason')}: {fields.text(available, 'message')}"
    if fields.text(available, "status") == "True":
        return Health(HealthStatus.HEALTHY, message)
    return Health(HealthStatus.PROGRESSING, message)
