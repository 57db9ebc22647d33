"""CronJob health (Argo CD ships this one as a Lua check; tether has it built in).

- ``spec.suspend: true`` → Suspended, "CronJob is Suspended".
- Jobs still running (``status.active``) → Progressing, "Waiting for N Jobs to complete".
- Scheduled at least once, and the last success (if any) is older than the last
  schedule → Degraded: the last run failed.
- Otherwise Healthy. A CronJob without a status yet → Progressing.

Times are RFC 3339 UTC strings as the API server writes them, so they compare as text.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus


def check_cronjob(obj: Object) -> Health:
    """Judge a ``batch/v1`` CronJob."""
    if fields.flag(obj, "spec", "suspend"):
        return Health(HealthStatus.SUSPENDED, "CronJob is Suspended")
    if obj.get("status") is None:
        return Health(HealthStatus.PROGRESSING, "Waiting for CronJob")
    active = fields.items(obj, "status", "active")
    if active:
        return Health(HealthStatus.PROGRESSING, f"Waiting for {len(active)} Jobs to complete")
    last_schedule = fields.text(obj, "status", "lastScheduleTime")
    if not last_schedule:
        return Health(HealthStatus.HEALTHY)
    last_success = fields.text(obj, "status", "lastSuccessfulTime")
    if not last_success or last_success < last_schedule:
        return Health(
            HealthStatus.DEGRADED, "CronJob has not completed its last execution successfully"
        )
    return Health(HealthStatus.HEALTHY, "CronJob has completed its last execution successfully")
