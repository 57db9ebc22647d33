"""Defaults kube-apiserver fills in for built-in kinds, on every write.

A real server defaults each object as it decodes it, so a Deployment read back has a
``strategy``, its containers an ``imagePullPolicy``, a Service a ``clusterIP``; clients
(``kubectl describe``, health checks, diffs of client-side apply) expect them. These
are the defaults of Kubernetes 1.35 for the workload, service and storage kinds people
apply every day; fields already set are never touched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]


def _set(target: Obj, key: str, value: Any) -> None:
    if key not in target or target[key] is None:
        target[key] = value


def _sub(target: Obj, key: str) -> Obj:
    """``target[key]``, created if absent; a non-object is left for validation to refuse."""
    value = target.get(key)
    if value is None:
        value = target[key] = {}
    return value if isinstance(value, dict) else {}


def _pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or untagged images, ``IfNotPresent`` otherwise."""
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    tag = name.rpartition(":")[2] if ":" in name else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _container(container: Any) -> None:
    if not isinstance(container, dict):
        return
    image = container.get("image")
    if isinstance(image, str):
        _set(container, "imagePullPolicy", _pull_policy(image))
    _set(container, "terminationMessagePath", "/dev/termination-log")
    _set(container, "terminationMessagePolicy", "File")
    _set(container, "resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")


def pod_spec(spec: Any, restart_policy: str = "Always") -> None:
    """Default a PodSpec (of a Pod or of a template)."""
    if not isinstance(spec, dict):
        return
    _set(spec, "restartPolicy", restart_policy)
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "securityContext", {})
    _set(spec, "schedulerName", "default-scheduler")
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            _container(container)


def _template(spec: Obj, restart_policy: str = "Always") -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        pod_spec(template.get("spec"), restart_policy)


def _deployment(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _set(spec, "replicas", 1)
    strategy = _sub(spec, "strategy")
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _sub(strategy, "rollingUpdate")
        _set(rolling, "maxUnavailable", "25%")
        _set(rolling, "maxSurge", "25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    _template(spec)


def _statefulset(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _set(spec, "replicas", 1)
    _set(spec, "podManagementPolicy", "OrderedReady")
    strategy = _sub(spec, "updateStrategy")
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _set(_sub(strategy, "rollingUpdate"), "partition", 0)
    _set(spec, "revisionHistoryLimit", 10)
    retention = _sub(spec, "persistentVolumeClaimRetentionPolicy")
    _set(retention, "whenDeleted", "Retain")
    _set(retention, "whenScaled", "Retain")
    _template(spec)


def _daemonset(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    strategy = _sub(spec, "updateStrategy")
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _sub(strategy, "rollingUpdate")
        _set(rolling, "maxUnavailable", 1)
        _set(rolling, "maxSurge", 0)
    _set(spec, "revisionHistoryLimit", 10)
    _template(spec)


def _replicaset(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _set(spec, "replicas", 1)
    _template(spec)


def _job_spec(spec: Obj) -> None:
    _set(spec, "parallelism", 1)
    if spec.get("completionMode") != "Indexed":
        _set(spec, "completions", 1)
    _set(spec, "backoffLimit", 6)
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)
    _set(spec, "podReplacementPolicy", "TerminatingOrFailed")
    _template(spec, restart_policy="Never")


def _job(obj: Obj) -> None:
    _job_spec(_sub(obj, "spec"))


def _cronjob(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _set(spec, "concurrencyPolicy", "Allow")
    _set(spec, "suspend", False)
    _set(spec, "successfulJobsHistoryLimit", 3)
    _set(spec, "failedJobsHistoryLimit", 1)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        _job_spec(_sub(job_template, "spec"))


def _pod(obj: Obj) -> None:
    pod_spec(_sub(obj, "spec"))
    _set(_sub(obj, "spec"), "enableServiceLinks", True)


def cluster_ip(namespace: str, name: str) -> str:
    """A stable address in 10.96.0.0/12 for a Service (the local cluster has no allocator)."""
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).digest()
    value = int.from_bytes(digest[:3], "big") % ((1 << 20) - 2) + 1  # never .0.0 or the last
    return f"10.{96 + (value >> 16)}.{(value >> 8) & 0xFF}.{value & 0xFF}"


def _service(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _set(spec, "type", "ClusterIP")
    _set(spec, "sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        meta = obj.get("metadata") or {}
        _set(spec, "clusterIP", cluster_ip(meta.get("namespace", ""), meta.get("name", "")))
        _set(spec, "clusterIPs", [spec["clusterIP"]])
        _set(spec, "ipFamilyPolicy", "SingleStack")
        _set(spec, "ipFamilies", ["IPv4"])
        _set(spec, "internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")
            _set(port, "targetPort", port.get("port"))


def _pvc(obj: Obj) -> None:
    _set(_sub(obj, "spec"), "volumeMode", "Filesystem")


def _secret(obj: Obj) -> None:
    _set(obj, "type", "Opaque")


_DEFAULTERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("apps", "ReplicaSet"): _replicaset,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
    ("", "Pod"): _pod,
    ("", "ReplicationController"): _replicaset,
    ("", "Service"): _service,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "Secret"): _secret,
}


def apply_defaults(group: str, kind: str, obj: Obj) -> None:
    """Fill in the defaults of a built-in ``kind`` in ``group`` (in place)."""
    defaulter = _DEFAULTERS.get((group, kind))
    if defaulter is not None:
        defaulter(obj)
