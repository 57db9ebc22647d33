"""The arithmetic of Deployment rollouts, as the deployment controller does it.

Pure functions over numbers and stored objects: ``maxSurge``/``maxUnavailable``
(integers or percentages, surge rounded up and unavailability down, never both
zero), the ``pod-template-hash`` (FNV-32a of the template, encoded with Kubernetes'
safe alphabet), revisions, and the conditions with the deployment controller's
update rules.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import orjson

from tether.localcluster.simulation.clock import parse_time
from tether.localcluster.watch import Entry

Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"
#: The letters Kubernetes encodes generated names with (no vowels, no look-alikes).
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An ``IntOrString`` (``3`` or ``"25%"``) as a number of Pods out of ``total``."""
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        share = int(text[:-1]) * total / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(text)


def fenceposts(spec: Obj) -> tuple[int, int]:
    """``(maxSurge, maxUnavailable)`` resolved against ``spec.replicas``."""
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    replicas = int(spec.get("replicas", 1))
    surge = scaled_value(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_unavailable(spec: Obj) -> int:
    """How many Pods may be unavailable (``0`` for ``Recreate`` or no replicas)."""
    replicas = int(spec.get("replicas", 1))
    if replicas == 0:
        return 0
    return min(fenceposts(spec)[1], replicas)


def template_hash(template: Obj, collision_count: int = 0) -> str:
    """The ``pod-template-hash`` of a template (FNV-32a, safe-encoded)."""
    data = orjson.dumps(template, option=orjson.OPT_SORT_KEYS)
    if collision_count:
        data += collision_count.to_bytes(4, "little")
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(SAFE_ALPHABET[ord(ch) % len(SAFE_ALPHABET)] for ch in str(value))


def without_hash(template: Obj) -> Obj:
    """A ReplicaSet's template minus ``pod-template-hash``, to compare with its Deployment's."""
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    result = {**template, "metadata": meta}
    if not meta:
        result.pop("metadata")
    return result


def same_template(deployment_template: Obj, rs: Entry) -> bool:
    """Whether ``rs`` runs the Deployment's current template."""
    ours = without_hash((rs.obj.get("spec") or {}).get("template") or {})
    theirs = dict(deployment_template)
    if not theirs.get("metadata"):
        theirs.pop("metadata", None)
    return ours == theirs


def revision(entry: Entry | None) -> int:
    """The revision annotation of a ReplicaSet or Deployment (0 if absent)."""
    if entry is None:
        return 0
    try:
        return int((entry.metadata.get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def spec_replicas(rs: Entry) -> int:
    """A ReplicaSet's ``spec.replicas``."""
    return int((rs.obj.get("spec") or {}).get("replicas", 1))


def status_count(rs: Entry, name: str) -> int:
    """A count from a ReplicaSet's status (0 if absent)."""
    return int((rs.obj.get("status") or {}).get(name) or 0)


def oldest_first(rss: list[Entry]) -> list[Entry]:
    """ReplicaSets by creation time, then name."""
    return sorted(rss, key=lambda r: (r.metadata.get("creationTimestamp", ""), r.metadata["name"]))


def deployment_condition(type_: str, status: str, reason: str, message: str, now: str) -> Obj:
    """A Deployment condition (it has ``lastUpdateTime`` besides the transition time)."""
    return {
        "type": type_,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def put_condition(conditions: list[Obj], new: Obj, *, force: bool = False) -> list[Obj]:
    """The deployment controller's ``SetDeploymentCondition``.

    An unchanged status and reason leave the condition alone (unless ``force``, as when
    progress is recorded); a changed one moves to the end, keeping its transition time
    if only the reason changed.
    """
    current = next((c for c in conditions if c.get("type") == new["type"]), None)
    if (
        current is not None
        and not force
        and current.get("status") == new["status"]
        and current.get("reason") == new["reason"]
    ):
        return conditions
    if current is not None and current.get("status") == new["status"]:
        new = {
            **new,
            "lastTransitionTime": current.get("lastTransitionTime", new["lastTransitionTime"]),
        }
    return [c for c in conditions if c.get("type") != new["type"]] + [new]


def timed_out(progressing: Obj | None, deadline_seconds: int | None, now: datetime) -> bool:
    """Whether the rollout has made no progress for ``progressDeadlineSeconds``."""
    if progressing is None or deadline_seconds is None:
        return False
    reason = progressing.get("reason")
    if reason == "NewReplicaSetAvailable":
        return False
    if reason == "ProgressDeadlineExceeded":
        return True
    since = parse_time(progressing.get("lastUpdateTime"))
    return since is not None and since + timedelta(seconds=deadline_seconds) < now


def deadline(progressing: Obj | None, deadline_seconds: int | None) -> datetime | None:
    """When a progressing rollout would time out, if it can."""
    if progressing is None or deadline_seconds is None:
        return None
    if progressing.get("reason") in ("NewReplicaSetAvailable", "ProgressDeadlineExceeded"):
        return None
    since = parse_time(progressing.get("lastUpdateTime"))
    return None if since is None else since + timedelta(seconds=deadline_seconds + 1)


def annotation(rs: Entry, name: str) -> int | None:
    """An integer annotation of a ReplicaSet, if it has a readable one."""
    try:
        return int((rs.metadata.get("annotations") or {})[name])
    except (KeyError, ValueError):
        return None


def scaling_event(spec: Obj, new: Entry | None, olds: list[Entry]) -> bool:
    """Whether an active ReplicaSet was sized for another replica count."""
    replicas = int(spec.get("replicas", 1))
    for rs in [new, *olds]:
        if rs is None or spec_replicas(rs) == 0:
            continue
        desired = annotation(rs, DESIRED_REPLICAS)
        if desired is not None and desired != replicas:
            return True
    return False


def saturated(replicas: int, rs: Entry) -> bool:
    """Whether the new ReplicaSet runs, available, every replica the Deployment wants."""
    return (
        annotation(rs, DESIRED_REPLICAS) == replicas
        and spec_replicas(rs) == replicas
        and status_count(rs, "availableReplicas") == replicas
    )


def proportion(rs: Entry, replicas: int, allowed: int, to_add: int, added: int) -> int:
    """``GetProportion``: this ReplicaSet's share of the Pods to add (or remove)."""
    size = spec_replicas(rs)
    if size == 0 or to_add == 0 or to_add == added:
        return 0
    if replicas == 0:
        fraction = -size
    else:
        annotated = annotation(rs, MAX_REPLICAS) or allowed
        fraction = round(size * allowed / annotated) - size
    remaining = to_add - added
    return min(fraction, remaining) if to_add > 0 else max(fraction, remaining)


def created_key(rs: Entry) -> str:
    """Sorts ReplicaSets oldest first (creation time, then name)."""
    return f"{rs.metadata.get('creationTimestamp', '')}{rs.metadata['name']}"


def newest(rss: list[Entry]) -> Entry | None:
    """The most recently created ReplicaSet."""
    return max(rss, key=created_key, default=None)
