"""Service health.

A ``LoadBalancer`` Service is Progressing until ``status.loadBalancer.ingress`` lists at
least one address; every other Service type is Healthy as soon as it exists.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus


def check_service(obj: Object) -> Health:
    """Judge a ``v1`` Service."""
    if fields.text(obj, "spec", "type") == "LoadBalancer" and not fields.items(
        obj, "status", "loadBalancer", "ingress"
    ):
        return Health(HealthStatus.PROGRESSING)
    return Health(HealthStatus.HEALTHY)
