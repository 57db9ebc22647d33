"""HorizontalPodAutoscaler health, from its conditions.

``autoscaling/v2`` (and ``v2beta1``/``v2beta2``) report conditions in
``status.conditions``; ``autoscaling/v1`` keeps them as JSON in the
``autoscaling.alpha.kubernetes.io/conditions`` annotation.

- Any condition that says the autoscaler cannot work → Degraded with its message:
  ``AbleToScale`` with reason ``FailedGetScale``/``FailedUpdateScale``, or
  ``ScalingActive`` with ``InvalidSelector`` or a ``FailedGet...Metric`` reason.
  These are looked for first, so a failing metric is reported even when an earlier
  condition reads well.
- Otherwise the first ``AbleToScale`` or ``ScalingLimited`` condition with status
  ``True`` → Healthy with its message.
- Otherwise (no conditions yet) → Progressing, "Waiting to Autoscale".
"""

from __future__ import annotations

import json

from tether.health import fields
from tether.health.errors import FieldTypeError
from tether.health.fields import Object
from tether.model import Health, HealthStatus, keys

#: Where ``autoscaling/v1`` objects carry the v2 conditions.
CONDITIONS_ANNOTATION = keys.HPA_CONDITIONS

_WAITING = Health(HealthStatus.PROGRESSING, "Waiting to Autoscale")

_DEGRADED_REASONS = {
    "AbleToScale": frozenset({"FailedGetScale", "FailedUpdateScale"}),
    "ScalingActive": frozenset(
        {
            "FailedGetResourceMetric",
            "FailedGetContainerResourceMetric",
            "FailedGetPodsMetric",
            "FailedGetObjectMetric",
            "FailedGetExternalMetric",
            "InvalidSelector",
        }
    ),
}
_HEALTHY_TYPES = frozenset({"AbleToScale", "ScalingLimited"})


def _annotation_conditions(obj: Object) -> list[Object] | None:
    raw = fields.text(obj, "metadata", "annotations", CONDITIONS_ANNOTATION)
    if not raw:
        return None
    try:
        decoded = json.loads(raw)
    except ValueError as error:
        raise FieldTypeError(
            f".metadata.annotations[{CONDITIONS_ANNOTATION}]", "a JSON array", raw
        ) from error
    return fields.mappings({"conditions": decoded}, "conditions")


def _judge(conditions: list[Object]) -> Health:
    for entry in conditions:
        kind, reason = fields.text(entry, "type"), fields.text(entry, "reason")
        if reason in _DEGRADED_REASONS.get(kind, ()):
            return Health(HealthStatus.DEGRADED, fields.text(entry, "message"))
    for entry in conditions:
        if fields.text(entry, "type") in _HEALTHY_TYPES and fields.text(entry, "status") == "True":
            return Health(HealthStatus.HEALTHY, fields.text(entry, "message"))
    return _WAITING


def check_horizontalpodautoscaler(obj: Object) -> Health:
    """Judge a HorizontalPodAutoscaler of ``autoscaling/v1``, ``v2beta1``, ``v2beta2`` or ``v2``."""
    if str(obj.get("apiVersion")) == "autoscaling/v1":
        conditions = _annotation_conditions(obj)
        if not conditions:
            return _WAITING
        return _judge(conditions)
    return _judge(fields.mappings(obj, "status", "conditions"))
