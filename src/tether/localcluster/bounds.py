"""Numeric bounds of built-in kinds that kube-apiserver's hand-written validation enforces.

The OpenAPI schemas only say that a port or a replica count is an ``int32``; the rules
below come from the API server's own validation code, with its field paths and
messages, so a manifest a real cluster refuses with ``422 Invalid`` is refused here too:

- ports are between 1 and 65535: a Service's ``port`` and integer ``targetPort``
  (0 means "same as port" and is defaulted), a container's ``containerPort``
  (required) and ``hostPort`` (0 means none);
- a Service's ``nodePort`` lies in the node port range (30000-32767, the default of
  ``--service-node-port-range``) and is not set on a ``ClusterIP`` Service;
- counts are not negative: ``replicas`` of workloads, a Deployment's
  ``minReadySeconds`` and ``revisionHistoryLimit``, a Job's ``parallelism``,
  ``completions`` and ``backoffLimit``.

Values of the wrong JSON type are left to the schema check, which answers them with
its own error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from tether.localcluster.errors import Cause

NODE_PORT_RANGE: Final = (30000, 32767)

_PORT_MESSAGE: Final = "must be between 1 and 65535, inclusive"
_NON_NEGATIVE: Final = "must be greater than or equal to 0"


def _int(value: Any) -> int | None:
    """``value`` when it is a JSON integer (``bool`` is not), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _invalid(path: str, value: int, message: str) -> Cause:
    return Cause(path, f"Invalid value: {value}: {message}", "FieldValueInvalid")


def _port(path: str, value: Any, *, zero_allowed: bool) -> list[Cause]:
    number = _int(value)
    if number is None or (zero_allowed and number == 0) or 1 <= number <= 65535:
        return []
    return [_invalid(path, number, _PORT_MESSAGE)]


def _non_negative(spec: Mapping[str, Any], path: str, *fields: str) -> list[Cause]:
    causes = []
    for name in fields:
        number = _int(spec.get(name))
        if number is not None and number < 0:
            causes.append(_invalid(f"{path}.{name}", number, _NON_NEGATIVE))
    return causes


def _items(value: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _service(obj: Mapping[str, Any]) -> list[Cause]:
    spec = _mapping(obj.get("spec"))
    cluster_ip_only = spec.get("type", "ClusterIP") == "ClusterIP"
    causes: list[Cause] = []
    for index, port in _items(spec.get("ports")):
        path = f"spec.ports[{index}]"
        causes += _port(f"{path}.port", port.get("port"), zero_allowed=False)
        causes += _port(f"{path}.targetPort", port.get("targetPort"), zero_allowed=True)
        node_port = _int(port.get("nodePort"))
        if not node_port:
            continue
        if cluster_ip_only:
            causes.append(
                Cause(
                    f"{path}.nodePort",
                    "Forbidden: may not be used when `type` is 'ClusterIP'",
                    "FieldValueForbidden",
                )
            )
        elif not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
            low, high = NODE_PORT_RANGE
            causes.append(
                _invalid(
                    f"{path}.nodePort",
                    node_port,
                    f"provided port is not in the valid range. The range of valid ports is "
                    f"{low}-{high}",
                )
            )
    return causes


def _pod_spec(spec: Mapping[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for group in ("initContainers", "containers"):
        for index, container in _items(spec.get(group)):
            for number, port in _items(container.get("ports")):
                where = f"{path}.{group}[{index}].ports[{number}]"
                if "containerPort" in port and _int(port["containerPort"]) == 0:
                    required = Cause(
                        f"{where}.containerPort", "Required value", "FieldValueRequired"
                    )
                    causes.append(required)
                else:
                    causes += _port(
                        f"{where}.containerPort", port.get("containerPort"), zero_allowed=False
                    )
                causes += _port(f"{where}.hostPort", port.get("hostPort"), zero_allowed=True)
    return causes


def _template(spec: Mapping[str, Any], path: str) -> list[Cause]:
    template = _mapping(spec.get("template"))
    return _pod_spec(_mapping(template.get("spec")), f"{path}.template.spec")


def _workload(*counts: str) -> Callable[[Mapping[str, Any]], list[Cause]]:
    def check(obj: Mapping[str, Any]) -> list[Cause]:
        spec = _mapping(obj.get("spec"))
        return _non_negative(spec, "spec", *counts) + _template(spec, "spec")

    return check


def _pod(obj: Mapping[str, Any]) -> list[Cause]:
    return _pod_spec(_mapping(obj.get("spec")), "spec")


def _cronjob(obj: Mapping[str, Any]) -> list[Cause]:
    job = _mapping(_mapping(obj.get("spec")).get("jobTemplate"))
    spec = _mapping(job.get("spec"))
    path = "spec.jobTemplate.spec"
    return _non_negative(spec, path, "parallelism", "completions", "backoffLimit") + _template(
        spec, path
    )


_CHECKS: Final[dict[tuple[str, str], Callable[[Mapping[str, Any]], list[Cause]]]] = {
    ("", "Service"): _service,
    ("", "Pod"): _pod,
    ("", "ReplicationController"): _workload("replicas", "minReadySeconds"),
    ("apps", "Deployment"): _workload("replicas", "minReadySeconds", "revisionHistoryLimit"),
    ("apps", "ReplicaSet"): _workload("replicas", "minReadySeconds"),
    ("apps", "StatefulSet"): _workload("replicas", "minReadySeconds", "revisionHistoryLimit"),
    ("apps", "DaemonSet"): _workload("minReadySeconds", "revisionHistoryLimit"),
    ("batch", "Job"): _workload("parallelism", "completions", "backoffLimit"),
    ("batch", "CronJob"): _cronjob,
}


def check_bounds(group: str, kind: str, obj: Mapping[str, Any]) -> list[Cause]:
    """The causes of a 422 for out-of-range numbers in a built-in object (``[]`` if none)."""
    check = _CHECKS.get((group, kind))
    return check(obj) if check is not None else []
