"""Server-side printing: ``meta.k8s.io/v1`` Tables for ``kubectl get``.

``kubectl get`` asks for ``as=Table`` and prints the columns the server chooses. The
common kinds get the columns kube-apiserver prints for them (``READY``, ``STATUS`` and
``RESTARTS`` for pods, ``DATA`` for config maps, ``LAST SEEN``, ``TYPE``, ``REASON``,
``OBJECT`` and ``MESSAGE`` for events...), custom resources get their CRD's
``additionalPrinterColumns``, every other kind gets ``NAME`` and ``AGE``. Ages read as
kubectl users know them (``45s``, ``12m``, ``3h5m``, ``2d``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tether.localcluster.resources import PrinterColumn, ResourceType
from tether.localcluster.watch import Entry

Row = list[Any]
_Column = tuple[str, str, str]  # name, type, description


def wants_table(accept: str) -> bool:
    """Whether an ``Accept`` header asks for a Table."""
    return "as=Table" in accept


def human_age(timestamp: str | None, now: datetime | None = None) -> str:
    """Kubectl's short duration since ``timestamp`` (``<unknown>`` when absent)."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<invalid>"
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def _get(obj: Mapping[str, Any], *path: str, default: Any = None) -> Any:
    value: Any = obj
    for part in path:
        if not isinstance(value, Mapping):
            return default
        value = value.get(part)
    return default if value is None else value


def _pod(obj: Mapping[str, Any]) -> Row:
    statuses = _get(obj, "status", "containerStatuses", default=[])
    containers = _get(obj, "spec", "containers", default=[])
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    phase = _get(obj, "status", "phase", default="Pending")
    if _get(obj, "metadata", "deletionTimestamp"):
        phase = "Terminating"
    return [f"{ready}/{len(containers)}", phase, restarts]


def _workload(obj: Mapping[str, Any]) -> Row:
    spec = _get(obj, "spec", "replicas", default=1)
    return [
        f"{_get(obj, 'status', 'readyReplicas', default=0)}/{spec}",
        _get(obj, "status", "updatedReplicas", default=0),
        _get(obj, "status", "availableReplicas", default=0),
    ]


def _replicaset(obj: Mapping[str, Any]) -> Row:
    return [
        _get(obj, "spec", "replicas", default=1),
        _get(obj, "status", "replicas", default=0),
        _get(obj, "status", "readyReplicas", default=0),
    ]


def _service(obj: Mapping[str, Any]) -> Row:
    ports = ",".join(
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/"
        f"{p.get('protocol', 'TCP')}"
        for p in _get(obj, "spec", "ports", default=[])
    )
    external = ",".join(_get(obj, "spec", "externalIPs", default=[])) or "<none>"
    return [
        _get(obj, "spec", "type", default="ClusterIP"),
        _get(obj, "spec", "clusterIP", default="<none>"),
        external,
        ports or "<none>",
    ]


def _job(obj: Mapping[str, Any]) -> Row:
    conditions = _get(obj, "status", "conditions", default=[])
    done = {c.get("type") for c in conditions if c.get("status") == "True"}
    status = "Complete" if "Complete" in done else "Failed" if "Failed" in done else "Running"
    completions = _get(obj, "spec", "completions", default=1)
    return [status, f"{_get(obj, 'status', 'succeeded', default=0)}/{completions}"]


_COLUMNS: dict[tuple[str, str], tuple[Sequence[_Column], Callable[[Mapping[str, Any]], Row]]] = {
    ("", "pods"): (
        (
            ("Ready", "string", "The number of ready containers."),
            ("Status", "string", "The aggregate status of the containers."),
            ("Restarts", "string", "The number of container restarts."),
        ),
        _pod,
    ),
    ("apps", "deployments"): (
        (
            ("Ready", "string", "Ready replicas."),
            ("Up-to-date", "string", "Updated replicas."),
            ("Available", "string", "Available replicas."),
        ),
        _workload,
    ),
    ("apps", "statefulsets"): (
        (("Ready", "string", "Ready replicas."),),
        lambda o: _workload(o)[:1],
    ),
    ("apps", "replicasets"): (
        (
            ("Desired", "integer", "Desired replicas."),
            ("Current", "integer", "Current replicas."),
            ("Ready", "integer", "Ready replicas."),
        ),
        _replicaset,
    ),
    ("", "services"): (
        (
            ("Type", "string", "The service type."),
            ("Cluster-IP", "string", "The cluster IP."),
            ("External-IP", "string", "External IPs."),
            ("Port(s)", "string", "The ports."),
        ),
        _service,
    ),
    ("", "configmaps"): (
        (("Data", "integer", "Number of entries."),),
        lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {})],
    ),
    ("", "secrets"): (
        (("Type", "string", "The secret type."), ("Data", "integer", "Number of entries.")),
        lambda o: [o.get("type", "Opaque"), len(o.get("data") or {})],
    ),
    ("", "namespaces"): (
        (("Status", "string", "The namespace phase."),),
        lambda o: [_get(o, "status", "phase", default="Active")],
    ),
    ("batch", "jobs"): (
        (
            ("Status", "string", "The job status."),
            ("Completions", "string", "Succeeded of desired."),
        ),
        _job,
    ),
}


def _event_object(obj: Mapping[str, Any]) -> str:
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def _event_row(obj: Mapping[str, Any], now: datetime) -> Row:
    last = (
        obj.get("lastTimestamp")
        or obj.get("eventTime")
        or _get(obj, "metadata", "creationTimestamp")
    )
    return [
        human_age(str(last)[:19] + "Z" if last else None, now),
        obj.get("type", ""),
        obj.get("reason", ""),
        _event_object(obj),
        obj.get("message") or obj.get("note") or "",
        obj["metadata"]["name"],
    ]


_EVENT_COLUMNS: Sequence[tuple[str, str, str, int]] = (
    ("Last Seen", "string", "Time of the last occurrence.", 0),
    ("Type", "string", "Normal or Warning.", 0),
    ("Reason", "string", "Why the event happened.", 0),
    ("Object", "string", "The object the event is about.", 0),
    ("Message", "string", "What happened.", 0),
    ("Name", "string", "Name must be unique within a namespace.", 1),
)


def _json_path(obj: Any, path: str) -> Any:
    """A value at a simple JSON path (``.spec.size``, ``.status.conditions[0].type``)."""
    value = obj
    for part in path.strip("{}").lstrip(".").replace("]", "").split("."):
        name, _, index = part.partition("[")
        if name:
            value = value.get(name) if isinstance(value, Mapping) else None
        if index and value is not None:
            try:
                value = value[int(index)] if isinstance(value, list) else None
            except (ValueError, IndexError):
                value = None
        if value is None:
            return None
    return value


def _custom_cell(column: PrinterColumn, obj: Mapping[str, Any], now: datetime) -> Any:
    value = _json_path(obj, column.json_path)
    if value is None:
        return None
    if column.type == "date":
        return human_age(str(value), now)
    if isinstance(value, dict | list):
        return str(value)
    return value


def _layout(
    rtype: ResourceType, now: datetime
) -> tuple[list[dict[str, Any]], Callable[[Mapping[str, Any]], Row]]:
    """Column definitions and the row builder for ``rtype``."""

    def column(
        name: str, kind: str, description: str, priority: int = 0, fmt: str = ""
    ) -> dict[str, Any]:
        return {
            "name": name,
            "type": kind,
            "format": fmt,
            "description": description,
            "priority": priority,
        }

    name_column = column("Name", "string", "Name must be unique within a namespace.", fmt="name")
    if rtype.key in (("", "events"), ("events.k8s.io", "events")):
        definitions = [column(n, t, d, p) for n, t, d, p in _EVENT_COLUMNS]
        return definitions, lambda obj: _event_row(obj, now)
    if rtype.printer_columns:
        columns = rtype.printer_columns
        definitions = [name_column] + [
            column(
                c.name,
                "string" if c.type == "date" else c.type,
                c.description,
                c.priority,
                c.format,
            )
            for c in columns
        ]
        return definitions, lambda obj: [
            obj["metadata"]["name"],
            *(_custom_cell(c, obj, now) for c in columns),
        ]
    extra, cells = _COLUMNS.get(rtype.key, ((), lambda _o: []))
    definitions = [name_column] + [column(n, t, d) for n, t, d in extra]
    definitions.append(
        column("Age", "string", "CreationTimestamp is the time the object was created.")
    )
    return definitions, lambda obj: [
        obj["metadata"]["name"],
        *cells(obj),
        human_age(obj["metadata"].get("creationTimestamp"), now),
    ]


def table(
    rtype: ResourceType,
    entries: Sequence[Entry],
    rv: int,
    include_object: str | None,
    now: datetime,
) -> dict[str, Any]:
    """A Table of ``entries`` at ``now``; ``include_object``: ``None``, ``Metadata``, ``Object``."""
    definitions, cells = _layout(rtype, now)
    rows = []
    include = include_object or "Metadata"
    for entry in entries:
        obj = entry.obj
        row: dict[str, Any] = {"cells": cells(obj)}
        if include == "Object":
            row["object"] = obj
        elif include == "Metadata":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": str(rv)},
        "columnDefinitions": definitions,
        "rows": rows,
    }
