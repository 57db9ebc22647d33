"""Ingress health (``networking.k8s.io`` and the older ``extensions`` group).

Healthy once the ingress controller has published an address in
``status.loadBalancer.ingress``; Progressing until then. Controllers that never publish
one leave the Ingress Progressing: override the check with a custom one in that case.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus


def check_ingress(obj: Object) -> Health:
    """Judge an Ingress of any version."""
    if fields.items(obj, "status", "loadBalancer", "ingress"):
        return Health(HealthStatus.HEALTHY)
    return Health(HealthStatus.PROGRESSING)
