"""The generic check for custom resources that report standard conditions.

Many operators follow the Kubernetes API conventions and publish a ``Ready`` (or
``Available``) condition. When a custom resource has no specific check (no Lua
customization, no built-in), tether reads that condition rather than reporting nothing:

- ``status.observedGeneration`` older than ``metadata.generation`` → Progressing: the
  conditions describe an older spec;
- ``Ready`` (else ``Available``) with status ``True`` → Healthy, ``False`` → Degraded,
  anything else → Progressing, each with the condition's message;
- neither condition → no verdict. ``status.phase`` is never interpreted: its values
  mean different things to different operators.

This is a tether extension (Argo CD has no verdict for such objects); it never applies
to Kubernetes' own API groups, and :attr:`HealthPolicy.generic_conditions` turns it off.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus

#: API groups served by kube-apiserver itself; their kinds never get the generic check.
KUBERNETES_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "extensions",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)

_STANDARD_TYPES = ("Ready", "Available")


def check_conditions(obj: Object) -> Health | None:
    """Judge a custom resource by its ``Ready``/``Available`` condition, if it has one."""
    standard = None
    for condition_type in _STANDARD_TYPES:
        standard = fields.condition(obj, condition_type)
        if standard is not None:
            break
    if standard is None:
        return None
    generation = fields.optional_int(obj, "metadata", "generation")
    observed = fields.optional_int(obj, "status", "observedGeneration")
    if generation is not None and observed is not None and observed < generation:
        return Health(
            HealthStatus.PROGRESSING,
            f"Waiting for the controller to observe generation {generation}",
        )
    status = fields.text(standard, "status")
    message = fields.text(standard, "message")
    if status == "True":
        return Health(HealthStatus.HEALTHY, message)
    if status == "False":
        return Health(HealthStatus.DEGRADED, message)
    return Health(HealthStatus.PROGRESSING, message)
