"""What the workload controllers share: Pods from templates, and reading Pods' state."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from tether.localcluster.simulation.clock import parse_time
from tether.localcluster.simulation.context import controller_ref, find_condition, reversed_key
from tether.localcluster.watch import Entry

Obj = dict[str, Any]


def pod_from_template(
    template: Obj,
    owner: Entry,
    *,
    name: str | None = None,
    generate_name: str | None = None,
    labels: Obj | None = None,
    annotations: Obj | None = None,
) -> Obj:
    """A Pod built from ``template``, controlled by ``owner``."""
    meta_template = template.get("metadata") or {}
    metadata: Obj = {
        "labels": {**(meta_template.get("labels") or {}), **(labels or {})},
        "ownerReferences": [controller_ref(owner)],
    }
    merged_annotations = {**(meta_template.get("annotations") or {}), **(annotations or {})}
    if merged_annotations:
        metadata["annotations"] = merged_annotations
    if name:
        metadata["name"] = name
    else:
        metadata["generateName"] = generate_name or f"{owner.metadata['name']}-"
    for key in ("finalizers",):
        if key in meta_template:
            metadata[key] = copy.deepcopy(meta_template[key])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def phase(pod: Entry) -> str:
    """The Pod's phase (``Pending`` before the kubelet reports)."""
    return str((pod.obj.get("status") or {}).get("phase") or "Pending")


def active(pod: Entry) -> bool:
    """Neither finished nor being deleted."""
    return phase(pod) not in ("Succeeded", "Failed") and "deletionTimestamp" not in pod.metadata


def ready_since(pod: Entry) -> datetime | None:
    """When the Pod became Ready, if it is."""
    cond = find_condition(pod.obj, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def ready(pod: Entry) -> bool:
    """Whether the Pod is Ready."""
    return active(pod) and ready_since(pod) is not None


def available(pod: Entry, min_ready_seconds: int, now: datetime) -> bool:
    """Ready for at least ``min_ready_seconds``."""
    since = ready_since(pod) if active(pod) else None
    return since is not None and since + timedelta(seconds=min_ready_seconds) <= now


def available_at(pod: Entry, min_ready_seconds: int) -> datetime | None:
    """When a Ready Pod becomes available."""
    since = ready_since(pod) if active(pod) else None
    return None if since is None else since + timedelta(seconds=min_ready_seconds)


def labels_match(template: Obj, pod: Entry) -> bool:
    """Whether the Pod carries every label of the template (``fullyLabeledReplicas``)."""
    wanted = (template.get("metadata") or {}).get("labels") or {}
    have = pod.metadata.get("labels") or {}
    return all(have.get(k) == v for k, v in wanted.items())


def deletion_rank(pod: Entry) -> tuple[int, int, int, int, str]:
    """Sort key putting the Pods a ReplicaSet deletes first at the front.

    As the ReplicaSet controller ranks them: unscheduled before scheduled, pending
    before running, not ready before ready, more restarts first, newest first.
    """
    status = pod.obj.get("status") or {}
    scheduled = 1 if (pod.obj.get("spec") or {}).get("nodeName") else 0
    order = {"Pending": 0, "Unknown": 1, "Running": 2}.get(phase(pod), 0)
    is_ready = 1 if ready_since(pod) is not None else 0
    restarts = sum(int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or [])
    created = str(pod.metadata.get("creationTimestamp", ""))
    newest_first = reversed_key(created)
    return (scheduled, order, is_ready, -restarts, newest_first)
