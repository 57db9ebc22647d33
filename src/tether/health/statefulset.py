"""StatefulSet health.

- The controller has not observed the latest generation (or never reported one) →
  Progressing.
- Fewer ready pods than desired → Progressing, "Waiting for N pods to be ready...".
- ``RollingUpdate`` with a ``rollingUpdate`` block: fewer updated pods than the
  partition lets through → Progressing; otherwise Healthy, "partitioned roll out
  complete". A live StatefulSet always carries this block (the API server defaults
  ``partition: 0``), so this is the message most StatefulSets show.
- ``OnDelete``: pods are only replaced by hand, so a ready set is Healthy.
- Otherwise the update revision must equal the current revision.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus


def check_statefulset(obj: Object) -> Health:
    """Judge an ``apps/v1`` StatefulSet."""
    generation = fields.integer(obj, "metadata", "generation")
    observed = fields.integer(obj, "status", "observedGeneration")
    if observed == 0 or generation > observed:
        return Health(
            HealthStatus.PROGRESSING, "Waiting for statefulset spec update to be observed..."
        )
    desired = fields.optional_int(obj, "spec", "replicas")
    ready = fields.integer(obj, "status", "readyReplicas")
    updated = fields.integer(obj, "status", "updatedReplicas")
    if desired is not None and ready < desired:
        return Health(
            HealthStatus.PROGRESSING, f"Waiting for {desired - ready} pods to be ready..."
        )
    strategy = fields.text(obj, "spec", "updateStrategy", "type")
    rolling = fields.mapping(obj, "spec", "updateStrategy")
    if strategy == "RollingUpdate" and rolling.get("rollingUpdate") is not None:
        partition = fields.optional_int(obj, "spec", "updateStrategy", "rollingUpdate", "partition")
        if desired is not None and partition is not None and updated < desired - partition:
            return Health(
                HealthStatus.PROGRESSING,
                "Waiting for partitioned roll out to finish: "
                f"{updated} out of {desired - partition} new pods have been updated...",
            )
        return Health(
            HealthStatus.HEALTHY,
            f"partitioned roll out complete: {updated} new pods have been updated...",
        )
    if strategy == "OnDelete":
        return Health(HealthStatus.HEALTHY, f"statefulset has {ready} ready pods")
    update_revision = fields.text(obj, "status", "updateRevision")
    current_revision = fields.text(obj, "status", "currentRevision")
    if update_revision != current_revision:
        return Health(
            HealthStatus.PROGRESSING,
            f"waiting for statefulset rolling update to complete {updated} pods at revision "
            f"{update_revision}...",
        )
    current = fields.integer(obj, "status", "currentReplicas")
    return Health(
        HealthStatus.HEALTHY,
        f"statefulset rolling update complete {current} pods at revision {current_revision}...",
    )
