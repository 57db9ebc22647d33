"""Admission: the checks and defaults every write goes through before it is stored.

These are pure functions on decoded objects; :class:`~tether.localcluster.store.Store`
calls them in the order kube-apiserver does: type and namespace checks, name
generation, kind-specific preparation (Secret ``stringData``, Namespace phase and
finalizers, the built-in defaults of :mod:`~tether.localcluster.defaults`), the
status-subresource rule, validation (names, labels, the schema) and finally the
metadata the server owns (uid, creationTimestamp, generation). Controllers inside
the process write through the same path.
"""

from __future__ import annotations

import base64
import copy
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tether.localcluster import defaults, names
from tether.localcluster.bounds import check_bounds
from tether.localcluster.errors import APIError, Cause, bad_request, invalid
from tether.localcluster.resources import ResourceType
from tether.localcluster.timestamps import rfc3339

#: Server-owned metadata that clients may not change on update.
_IMMUTABLE_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


#: Where the server reads the time: the system clock unless one is injected (tests, the
#: workload simulation's manual clock).
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def timestamp(moment: datetime, offset_seconds: int = 0) -> str:
    """``moment`` (plus an offset) as Kubernetes writes timestamps (RFC 3339, seconds)."""
    return rfc3339(moment + timedelta(seconds=offset_seconds) if offset_seconds else moment)


def grace_period(rtype: ResourceType, obj: Mapping[str, Any], requested: int | None) -> int:
    """How long a deleted object lingers for a graceful stop: only pods on a node do.

    As kube-apiserver's pod strategy: a pod not bound to a node, or already finished, goes
    at once; otherwise it waits ``gracePeriodSeconds`` (default: its
    ``terminationGracePeriodSeconds``, else 30) for the kubelet to stop it.
    """
    if rtype.key != ("", "pods"):
        return 0
    spec = obj.get("spec") or {}
    phase = (obj.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return max(requested, 0)
    default = spec.get("terminationGracePeriodSeconds")
    return int(default) if isinstance(default, int) else 30


def check_type(rtype: ResourceType, obj: Mapping[str, Any], version: str) -> None:
    """400 unless ``obj`` declares the apiVersion and kind the URL serves."""
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    expected = rtype.api_version(version)
    if not api_version or not kind:
        missing = "apiVersion" if not api_version else "kind"
        raise bad_request(f"Object '{missing}' is missing in '{_short(obj)}'")
    if kind != rtype.kind:
        raise bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
        )
    if api_version not in (expected, rtype.api_version()) and api_version not in (
        rtype.api_version(v) for v in rtype.versions
    ):
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({expected})"
        )


def _short(obj: Mapping[str, Any]) -> str:
    text = orjson.dumps(obj).decode()
    return text if len(text) <= 200 else text[:200] + "..."


def metadata_of(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj['metadata']``, created if absent; 400 if it is not an object."""
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    return meta


def place(rtype: ResourceType, obj: dict[str, Any], namespace: str | None) -> None:
    """Reconcile ``metadata.namespace`` with the namespace of the URL."""
    meta = metadata_of(obj)
    if not rtype.namespaced:
        meta.pop("namespace", None)
        return
    body_ns = meta.get("namespace")
    if body_ns and namespace and body_ns != namespace:
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    if namespace:
        meta["namespace"] = namespace
    elif not body_ns:
        meta["namespace"] = "default"


def name_for_create(rtype: ResourceType, obj: dict[str, Any]) -> str:
    """The object's name, generated from ``generateName`` if need be; 422 if neither."""
    meta = metadata_of(obj)
    name = meta.get("name")
    if not name:
        prefix = meta.get("generateName")
        if not prefix:
            raise invalid(
                rtype.kind,
                rtype.group,
                "",
                [
                    Cause(
                        "metadata.name",
                        "Required value: name or generateName is required",
                        "FieldValueRequired",
                    )
                ],
            )
        name = names.generate_name(str(prefix))
        meta["name"] = name
    if not isinstance(name, str):
        raise bad_request("metadata.name must be a string")
    return name


def prepare(rtype: ResourceType, obj: dict[str, Any], old: Mapping[str, Any] | None) -> None:
    """Kind-specific normalisation a real server's strategies perform."""
    key = (rtype.group, rtype.kind)
    if key == ("", "Secret"):
        _fold_string_data(obj)
    elif key == ("", "Namespace"):
        spec = obj.setdefault("spec", {})
        if old is None:
            spec.setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
    elif key == ("", "Pod") and old is None:
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    elif key in (("", "PersistentVolume"), ("", "PersistentVolumeClaim")) and old is None:
        obj["status"] = {"phase": "Pending"}
    if not rtype.custom:
        defaults.apply_defaults(rtype.group, rtype.kind, obj)


def _fold_string_data(obj: dict[str, Any]) -> None:
    """Secrets store ``stringData`` base64-encoded into ``data``."""
    string_data = obj.pop("stringData", None)
    if not string_data:
        return
    if not isinstance(string_data, dict):
        raise bad_request("stringData must be an object")
    data = obj.get("data") or {}
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    obj["data"] = data


def validate(rtype: ResourceType, obj: Mapping[str, Any], name: str) -> None:
    """422 with every cause if the name, namespace, labels or numeric bounds break their rules."""
    meta = obj["metadata"]
    causes = names.check_name(rtype.group, rtype.kind, name)
    namespace = meta.get("namespace")
    if rtype.namespaced and namespace:
        causes += names.check_namespace_name(namespace)
    labels = meta.get("labels")
    if labels is not None:
        if isinstance(labels, dict):
            causes += names.check_labels(labels)
        else:
            causes.append(Cause("metadata.labels", "Invalid value: must be an object"))
    annotations = meta.get("annotations")
    if annotations is not None and not isinstance(annotations, dict):
        causes.append(Cause("metadata.annotations", "Invalid value: must be an object"))
    elif annotations:
        causes += names.check_annotations(annotations)
    causes += names.check_owner_references(meta.get("ownerReferences"))
    causes += names.check_finalizers(meta.get("finalizers"))
    if rtype.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        causes += _crd_name_causes(obj, name)
    if not rtype.custom:
        causes += check_bounds(rtype.group, rtype.kind, obj)
    if causes:
        raise invalid(rtype.kind, rtype.group, name, causes)


def _crd_name_causes(obj: Mapping[str, Any], name: str) -> list[Cause]:
    spec = obj.get("spec") or {}
    plural = (spec.get("names") or {}).get("plural")
    group = spec.get("group")
    if name != f"{plural}.{group}":
        return [
            Cause(
                "metadata.name",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        ]
    return []


def stamp_new(rtype: ResourceType, obj: dict[str, Any], created: str) -> None:
    """Server-owned metadata of a new object created at ``created``."""
    meta = obj["metadata"]
    if meta.get("resourceVersion"):
        raise APIError(
            500, "InternalError", "resourceVersion should not be set on objects to be created"
        )
    for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "uid", "selfLink"):
        meta.pop(field, None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = created
    if rtype.generation or rtype.custom:
        meta["generation"] = 1
    else:
        meta.pop("generation", None)


def carry_over(rtype: ResourceType, new: dict[str, Any], old: Mapping[str, Any]) -> None:
    """Keep server-owned metadata of ``old`` and bump ``generation`` on spec changes."""
    meta, old_meta = new["metadata"], old["metadata"]
    for field in _IMMUTABLE_META:
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    meta.pop("selfLink", None)
    if "generation" in old_meta:
        generation = int(old_meta["generation"])
        if spec_changed(rtype, new, old):
            generation += 1
        meta["generation"] = generation


def spec_changed(rtype: ResourceType, new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """Whether anything but metadata (and status, if it is a subresource) changed."""
    ignored = {"metadata", "status"} if rtype.status else {"metadata"}
    keys = (set(new) | set(old)) - ignored
    return any(new.get(k) != old.get(k) for k in keys)


#: Kinds with a status subresource whose status may still be set on create (a kubelet
#: registers its Node with its status).
_STATUS_ON_CREATE = frozenset({("", "nodes")})


def keep_status(rtype: ResourceType, new: dict[str, Any], old: Mapping[str, Any] | None) -> None:
    """Writes to the main resource of a kind with ``/status`` do not change status.

    On create the status is dropped (the kind's preparation may then set the initial
    one, as a Pod's ``Pending``), except where the real server keeps it.
    """
    if not rtype.status:
        return
    if old is None:
        if rtype.key not in _STATUS_ON_CREATE:
            new.pop("status", None)
        return
    if "status" in old:
        new["status"] = copy.deepcopy(old["status"])
    else:
        new.pop("status", None)


def status_only(new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """A write to ``/status``: ``old`` with only its status (and rv) taken from ``new``."""
    result = copy.deepcopy(dict(old))
    if "status" in new:
        result["status"] = copy.deepcopy(new["status"])
    else:
        result.pop("status", None)
    rv = (new.get("metadata") or {}).get("resourceVersion")
    if rv:
        result["metadata"]["resourceVersion"] = rv
    return result


def holding_finalizers(rtype: ResourceType, obj: Mapping[str, Any]) -> list[str]:
    """What still holds an object being deleted (a namespace's spec finalizers too)."""
    held = list(obj["metadata"].get("finalizers") or [])
    if rtype.key == ("", "namespaces"):
        held += (obj.get("spec") or {}).get("finalizers") or []
    return held


def unchanged(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """Equal but for managedFields timestamps: such a write changes nothing."""
    if new.keys() != old.keys():
        return False
    for key, value in new.items():
        if key != "metadata" and value != old[key]:
            return False
    new_meta, old_meta = new["metadata"], old["metadata"]
    keys = (set(new_meta) | set(old_meta)) - {"managedFields", "resourceVersion"}
    if any(new_meta.get(k) != old_meta.get(k) for k in keys):
        return False
    same: bool = _strip_times(new_meta.get("managedFields")) == _strip_times(
        old_meta.get("managedFields")
    )
    return same


def _strip_times(fields: Any) -> Any:
    if not isinstance(fields, list):
        return fields
    return [{k: v for k, v in f.items() if k != "time"} for f in fields if isinstance(f, dict)]
