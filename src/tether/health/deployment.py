"""Deployment health, as ``kubectl rollout status`` and Argo CD judge it.

- ``spec.paused`` → Suspended, "Deployment is paused".
- The controller has not observed the latest generation → Progressing.
- The ``Progressing`` condition has reason ``ProgressDeadlineExceeded`` → Degraded.
- Fewer updated replicas than desired, old replicas still running, or updated replicas
  not yet available → Progressing with kubectl's rollout message.
- Otherwise Healthy.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus


def check_deployment(obj: Object) -> Health:
    """Judge an ``apps/v1`` Deployment."""
    if fields.flag(obj, "spec", "paused"):
        return Health(HealthStatus.SUSPENDED, "Deployment is paused")
    generation = fields.integer(obj, "metadata", "generation")
    observed = fields.integer(obj, "status", "observedGeneration")
    if generation > observed:
        return Health(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed deployment generation less than "
            "desired generation",
        )
    progressing = fields.condition(obj, "Progressing")
    if progressing is not None and fields.text(progressing, "reason") == "ProgressDeadlineExceeded":
        name = fields.text(obj, "metadata", "name")
        return Health(HealthStatus.DEGRADED, f'Deployment "{name}" exceeded its progress deadline')
    desired = fields.optional_int(obj, "spec", "replicas")
    replicas = fields.integer(obj, "status", "replicas")
    updated = fields.integer(obj, "status", "updatedReplicas")
    available = fields.integer(obj, "status", "availableReplicas")
    if desired is not None and updated < desired:
        return Health(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {updated} out of {desired} new replicas "
            "have been updated...",
        )
    if replicas > updated:
        return Health(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {replicas - updated} old replicas are pending "
            "termination...",
        )
    if available < updated:
        return Health(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {available} of {updated} updated replicas "
            "are available...",
        )
    return Health(HealthStatus.HEALTHY)
