"""Job health, from its conditions.

- No ``Complete``, ``Failed`` or ``Suspended`` condition yet → Progressing.
- ``Failed`` → Degraded with the condition's message (e.g. "Job has reached the
  specified backoff limit").
- ``Suspended`` with status ``True`` (``spec.suspend: true``) → Suspended.
- Otherwise Healthy with the ``Complete`` condition's message.

As in Argo CD, the presence of a ``Complete``, ``Failed`` or ``Suspended`` condition
counts whatever its status (the Job controller adds the first two with status ``True``
only), so a Job resumed after a suspension (``Suspended: False``, reason
``JobResumed``) reads Healthy while it runs; and a suspended Job's message is the
failure message, which is empty. Both are Argo CD's verdicts, kept so that users see
the same ones.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus


def check_job(obj: Object) -> Health:
    """Judge a ``batch/v1`` Job."""
    failed = complete = suspended = False
    failure_message = message = ""
    for entry in fields.mappings(obj, "status", "conditions"):
        kind = fields.text(entry, "type")
        if kind == "Failed":
            failed = complete = True
            failure_message = fields.text(entry, "message")
        elif kind == "Complete":
            complete = True
            message = fields.text(entry, "message")
        elif kind == "Suspended":
            complete = True
            message = fields.text(entry, "message")
            suspended = suspended or fields.text(entry, "status") == "True"
    if not complete:
        return Health(HealthStatus.PROGRESSING, message)
    if failed:
        return Health(HealthStatus.DEGRADED, failure_message)
    if suspended:
        return Health(HealthStatus.SUSPENDED, failure_message)
    return Health(HealthStatus.HEALTHY, message)
