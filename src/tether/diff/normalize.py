"""Normalisation: reduce an object to the fields that mean something to a comparison.

Removed from both sides: the metadata the server maintains (``uid``,
``resourceVersion``, ``generation``, ``creationTimestamp``, ``managedFields``,
``selfLink``, ``deletionTimestamp``, ``deletionGracePeriodSeconds``), the tracking and
``last-applied-configuration`` annotations, ``status`` (see
:class:`StatusComparison`), and explicit ``null`` values (which apply treats as
"not set"). A Secret's ``stringData`` is folded into ``data`` as base64, exactly as
the API server stores it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import orjson

from tether.model import keys

_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_IGNORED_ANNOTATIONS = (keys.TRACKING_ID, keys.LAST_APPLIED)

#: Fields the server assigns when the manifest leaves them out or empty, per group/kind.
SERVER_ASSIGNED: Mapping[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("", "Service"): (
        ("spec", "clusterIP"),
        ("spec", "clusterIPs"),
        ("spec", "ipFamilies"),
        ("spec", "ipFamilyPolicy"),
        ("spec", "healthCheckNodePort"),
    ),
    ("", "PersistentVolumeClaim"): (("spec", "volumeName"),),
}


class StatusComparison(StrEnum):
    """Whose ``status`` is left out (``ignoreResourceStatusField`` in ``resource.compareoptions``).

    ``all`` ignores every status (the default), ``crd`` only that of
    CustomResourceDefinitions, ``none`` compares status everywhere.
    """

    IGNORE_ALL = "all"
    IGNORE_CRD = "crd"
    IGNORE_NONE = "none"


def copy_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep, JSON-only copy (orjson is several times faster than ``copy.deepcopy``)."""
    copied: dict[str, Any] = orjson.loads(orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS))
    return copied


def is_secret(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a core ``v1`` Secret."""
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def normalize(obj: Mapping[str, Any], status: StatusComparison) -> dict[str, Any]:
    """A normalised deep copy of ``obj`` (see the module docstring)."""
    result = copy_object(obj)
    _drop_nulls(result)
    metadata = result.get("metadata")
    if isinstance(metadata, dict):
        for name in _SERVER_METADATA:
            metadata.pop(name, None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            for name in _IGNORED_ANNOTATIONS:
                annotations.pop(name, None)
            if not annotations:
                del metadata["annotations"]
    if _ignores_status(result, status):
        result.pop("status", None)
    if is_secret(result):
        _fold_string_data(result)
    return result


def _ignores_status(obj: Mapping[str, Any], status: StatusComparison) -> bool:
    if status is StatusComparison.IGNORE_ALL:
        return True
    if status is StatusComparison.IGNORE_CRD:
        return bool(obj.get("kind") == "CustomResourceDefinition")
    return False


def _drop_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for name in [k for k, v in value.items() if v is None]:
            del value[name]
        for item in value.values():
            _drop_nulls(item)
    elif isinstance(value, list):
        for item in value:
            _drop_nulls(item)


def _fold_string_data(secret: dict[str, Any]) -> None:
    string_data = secret.pop("stringData", None)
    if not isinstance(string_data, dict) or not string_data:
        return
    data = secret.get("data")
    data = dict(data) if isinstance(data, dict) else {}
    for name, value in string_data.items():
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        data[name] = base64.b64encode(text.encode()).decode()
    secret["data"] = data


def drop_server_assigned(group: str, kind: str, desired: dict[str, Any], live: Any) -> None:
    """Forget server-assigned fields the manifest leaves unset or empty, on both sides."""
    for path in SERVER_ASSIGNED.get((group, kind), ()):
        parent: Any = desired
        for name in path[:-1]:
            parent = parent.get(name) if isinstance(parent, dict) else None
        value = parent.get(path[-1]) if isinstance(parent, dict) else None
        if value not in (None, "", []):
            continue
        for side in (desired, live):
            node = side
            for name in path[:-1]:
                node = node.get(name) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(path[-1], None)
