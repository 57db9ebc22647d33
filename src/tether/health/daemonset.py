"""DaemonSet health.

- The controller has not observed the latest generation → Progressing.
- ``OnDelete``: pods are only replaced by hand → Healthy, with the update count.
- Fewer updated or available pods than scheduled → Progressing.
- Otherwise Healthy.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus


def check_daemonset(obj: Object) -> Health:
    """Judge an ``apps/v1`` DaemonSet."""
    generation = fields.integer(obj, "metadata", "generation")
    observed = fields.integer(obj, "status", "observedGeneration")
    if generation > observed:
        return Health(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed daemon set generation less than "
            "desired generation",
        )
    name = fields.text(obj, "metadata", "name")
    desired = fields.integer(obj, "status", "desiredNumberScheduled")
    updated = fields.integer(obj, "status", "updatedNumberScheduled")
    available = fields.integer(obj, "status", "numberAvailable")
    if fields.text(obj, "spec", "updateStrategy", "type") == "OnDelete":
        return Health(
            HealthStatus.HEALTHY,
            f"daemon set {updated} out of {desired} new pods have been updated",
        )
    if updated < desired:
        return Health(
            HealthStatus.PROGRESSING,
            f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} '
            "new pods have been updated...",
        )
    if available < desired:
        return Health(
            HealthStatus.PROGRESSING,
            f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} '
            "updated pods are available...",
        )
    return Health(HealthStatus.HEALTHY)
