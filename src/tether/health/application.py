"""Health of an Argo CD ``Application`` managed by another one (app of apps). Opt-in.

Argo CD removed this check from its defaults in 1.8 and documents restoring it with a
Lua customization; tether offers the same verdict behind
:attr:`HealthPolicy.application_health`. The child Application's own
``status.health`` is reported as is; an Application without one is Progressing.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus

_STATUSES = {status.value: status for status in HealthStatus}


def check_application(obj: Object) -> Health:
    """Judge an ``argoproj.io`` Application by the health it reports."""
    reported = fields.mapping(obj, "status", "health")
    value = fields.text(reported, "status")
    if not value:
        return Health(HealthStatus.PROGRESSING)
    status = _STATUSES.get(value)
    if status is None:
        return Health(
            HealthStatus.UNKNOWN, f'Application reports an unknown health status "{value}"'
        )
    return Health(status, fields.text(reported, "message"))
