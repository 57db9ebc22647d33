"""ReplicaSet health.

- The controller has not observed the latest generation → Progressing.
- A ``ReplicaFailure`` condition with status ``True`` → Degraded with its message
  (typically a quota or admission refusal while creating pods).
- Fewer available replicas than desired → Progressing.
- Otherwise Healthy.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus


def check_replicaset(obj: Object) -> Health:
    """Judge an ``apps/v1`` ReplicaSet."""
    generation = fields.integer(obj, "metadata", "generation")
    observed = fields.integer(obj, "status", "observedGeneration")
    if generation > observed:
        return Health(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed replica set generation less than "
            "desired generation",
        )
    failure = fields.condition(obj, "ReplicaFailure")
    if failure is not None and fields.text(failure, "status") == "True":
        return Health(HealthStatus.DEGRADED, fields.text(failure, "message"))
    desired = fields.optional_int(obj, "spec", "replicas")
    available = fields.integer(obj, "status", "availableReplicas")
    if desired is not None and available < desired:
        return Health(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {available} out of {desired} new replicas "
            "are available...",
        )
    return Health(HealthStatus.HEALTHY)
