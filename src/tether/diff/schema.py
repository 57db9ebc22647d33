"""What the comparison needs to know about a kind's fields.

Three facts matter: whether a list is a *map* (items identified by merge keys, order
irrelevant), a *set* (scalar items, order irrelevant) or *atomic*; whether a scalar is
a resource quantity; whether it is an int-or-string. :data:`BUILTIN_SCHEMA` knows them
for the workload, service and quota kinds most applications are made of.
:class:`OpenAPISchema` reads them from the Kubernetes OpenAPI definitions bundled with
``kubernetes-validate``; :class:`ChainedSchema` asks several lookups in turn, so callers
can inject CRD schemas for the rest.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any, Protocol


class ListKind(StrEnum):
    """How the API treats a list (``x-kubernetes-list-type``)."""

    ATOMIC = "atomic"
    MAP = "map"
    SET = "set"


class ScalarKind(StrEnum):
    """Scalars with more than one spelling of the same value."""

    PLAIN = "plain"
    QUANTITY = "quantity"
    INT_OR_STRING = "int-or-string"


#: Key fields the API defaults when an item omits them (ports default to TCP).
KEY_DEFAULTS: Mapping[str, object] = {"protocol": "TCP"}


class SchemaNode(Protocol):
    """One field's schema; every method answers ``None`` when the schema does not know."""

    @property
    def list_kind(self) -> ListKind | None:
        """The list type, for list fields."""

    @property
    def list_keys(self) -> tuple[str, ...]:
        """The merge keys of a map list."""

    @property
    def scalar(self) -> ScalarKind:
        """The scalar kind, for scalar fields."""

    def child(self, name: str) -> SchemaNode | None:
        """Schema of the object field ``name``."""

    def items(self) -> SchemaNode | None:
        """Schema of a list's items."""

    def values(self) -> SchemaNode | None:
        """Schema of a string-keyed map's values."""


class SchemaLookup(Protocol):
    """Finds the schema of a kind; ``None`` when the kind is unknown to it."""

    def root(self, group: str, kind: str, version: str = "") -> SchemaNode | None:
        """The schema of a whole object of ``group``/``kind`` (at ``version`` if known)."""


@dataclass(frozen=True, slots=True)
class StaticNode:
    """A hand-written schema node; the building block of :data:`BUILTIN_SCHEMA`."""

    fields: Mapping[str, StaticNode] = field(default_factory=dict)
    item: StaticNode | None = None
    value: StaticNode | None = None
    list_kind: ListKind | None = None
    list_keys: tuple[str, ...] = ()
    scalar: ScalarKind = ScalarKind.PLAIN

    def child(self, name: str) -> StaticNode | None:
        """Schema of the object field ``name``."""
        return self.fields.get(name)

    def items(self) -> StaticNode | None:
        """Schema of a list's items."""
        return self.item

    def values(self) -> StaticNode | None:
        """Schema of a string-keyed map's values."""
        return self.value


def _obj(**fields: StaticNode) -> StaticNode:
    return StaticNode(fields=fields)


def _map_list(*keys: str, item: StaticNode | None = None) -> StaticNode:
    return StaticNode(item=item or StaticNode(), list_kind=ListKind.MAP, list_keys=keys)


_ATOMIC = StaticNode(list_kind=ListKind.ATOMIC, item=StaticNode())
_SET = StaticNode(list_kind=ListKind.SET, item=StaticNode())
_QUANTITY = StaticNode(scalar=ScalarKind.QUANTITY)
_INT_OR_STRING = StaticNode(scalar=ScalarKind.INT_OR_STRING)
_QUANTITIES = StaticNode(value=_QUANTITY)
_RESOURCES = _obj(limits=_QUANTITIES, requests=_QUANTITIES)
_HANDLER = _obj(httpGet=_obj(port=_INT_OR_STRING), tcpSocket=_obj(port=_INT_OR_STRING))
_PROBE = _HANDLER
_CONTAINER = _obj(
    ports=_map_list("containerPort", "protocol"),
    env=_map_list("name"),
    envFrom=_ATOMIC,
    volumeMounts=_map_list("mountPath"),
    volumeDevices=_map_list("devicePath"),
    resources=_RESOURCES,
    livenessProbe=_PROBE,
    readinessProbe=_PROBE,
    startupProbe=_PROBE,
    lifecycle=_obj(postStart=_HANDLER, preStop=_HANDLER),
    args=_ATOMIC,
    command=_ATOMIC,
)
_POD_SPEC = _obj(
    containers=_map_list("name", item=_CONTAINER),
    initContainers=_map_list("name", item=_CONTAINER),
    ephemeralContainers=_map_list("name", item=_CONTAINER),
    volumes=_map_list("name", item=_obj(emptyDir=_obj(sizeLimit=_QUANTITY))),
    imagePullSecrets=_map_list("name"),
    hostAliases=_map_list("ip"),
    tolerations=_ATOMIC,
    topologySpreadConstraints=_map_list("topologyKey", "whenUnsatisfiable"),
    overhead=_QUANTITIES,
    resources=_RESOURCES,
)
_TEMPLATE = _obj(spec=_POD_SPEC)
_PVC_SPEC = _obj(resources=_RESOURCES, accessModes=_ATOMIC)
_ROLLING = _obj(maxSurge=_INT_OR_STRING, maxUnavailable=_INT_OR_STRING)
_METADATA = _obj(finalizers=_SET, ownerReferences=_map_list("uid"))
#: What every object shares; used for kinds no lookup knows.
GENERIC_OBJECT = _obj(metadata=_METADATA)


def _kind(**spec: StaticNode) -> StaticNode:
    return _obj(metadata=_METADATA, spec=_obj(**spec))


_BUILTIN: dict[tuple[str, str], StaticNode] = {
    ("", "Pod"): _obj(metadata=_METADATA, spec=_POD_SPEC),
    ("apps", "Deployment"): _kind(template=_TEMPLATE, strategy=_obj(rollingUpdate=_ROLLING)),
    ("apps", "ReplicaSet"): _kind(template=_TEMPLATE),
    ("apps", "DaemonSet"): _kind(template=_TEMPLATE, updateStrategy=_obj(rollingUpdate=_ROLLING)),
    ("apps", "StatefulSet"): _kind(
        template=_TEMPLATE,
        volumeClaimTemplates=StaticNode(list_kind=ListKind.ATOMIC, item=_obj(spec=_PVC_SPEC)),
    ),
    ("batch", "Job"): _kind(template=_TEMPLATE),
    ("batch", "CronJob"): _kind(jobTemplate=_obj(spec=_obj(template=_TEMPLATE))),
    ("", "Service"): _kind(
        ports=_map_list("port", "protocol", item=_obj(targetPort=_INT_OR_STRING)),
        clusterIPs=_ATOMIC,
        ipFamilies=_ATOMIC,
    ),
    ("", "PersistentVolumeClaim"): _obj(metadata=_METADATA, spec=_PVC_SPEC),
    ("", "PersistentVolume"): _kind(capacity=_QUANTITIES),
    ("", "ResourceQuota"): _kind(hard=_QUANTITIES),
    ("", "LimitRange"): _kind(
        limits=StaticNode(
            list_kind=ListKind.ATOMIC,
            item=_obj(
                max=_QUANTITIES,
                min=_QUANTITIES,
                default=_QUANTITIES,
                defaultRequest=_QUANTITIES,
                maxLimitRequestRatio=_QUANTITIES,
            ),
        )
    ),
    ("policy", "PodDisruptionBudget"): _kind(
        minAvailable=_INT_OR_STRING, maxUnavailable=_INT_OR_STRING
    ),
}


def root_of(schema: SchemaLookup, obj: Mapping[str, Any]) -> SchemaNode:
    """The schema of the whole of ``obj`` (:data:`GENERIC_OBJECT` if ``schema`` lacks it)."""
    group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
    node = schema.root(group, str(obj.get("kind") or ""), version)
    return node if node is not None else GENERIC_OBJECT


class BuiltinSchema:
    """The hand-written table for common built-in kinds (see the module docstring)."""

    def root(self, group: str, kind: str, version: str = "") -> SchemaNode | None:
        """The schema of ``group``/``kind``; ``None`` for kinds outside the table."""
        return _BUILTIN.get((group, kind))


BUILTIN_SCHEMA = BuiltinSchema()


class ChainedSchema:
    """Asks each lookup in turn; the first that knows a kind answers for it."""

    def __init__(self, *lookups: SchemaLookup) -> None:
        self._lookups = lookups

    def root(self, group: str, kind: str, version: str = "") -> SchemaNode | None:
        """The first lookup's schema for ``group``/``kind``."""
        for lookup in self._lookups:
            node = lookup.root(group, kind, version)
            if node is not None:
                return node
        return None


_QUANTITY_REF = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_bundled: OpenAPISchema | None = None
_bundled_lock = threading.Lock()
_INT_OR_STRING_REF = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"


class OpenAPISchema:
    """List types, quantities and int-or-strings read from OpenAPI definitions.

    :meth:`bundled` loads the definitions ``kubernetes-validate`` ships for the newest
    Kubernetes version it knows; any mapping in the same shape (``$defs`` keyed by
    definition name, ``x-kubernetes-group-version-kind`` on top-level kinds) works,
    which is how CRD schemas can be plugged in.
    """

    def __init__(self, definitions: Mapping[str, Any]) -> None:
        self._defs = definitions
        self._kinds: dict[tuple[str, str], dict[str, str]] = {}
        for name, definition in definitions.items():
            for gvk in definition.get("x-kubernetes-group-version-kind") or ():
                versions = self._kinds.setdefault((gvk.get("group", ""), gvk.get("kind", "")), {})
                versions[gvk.get("version", "")] = name

    @classmethod
    def bundled(cls) -> OpenAPISchema:
        """The definitions bundled with ``kubernetes-validate`` (newest version).

        Loaded once per process (about 60 ms) and shared: the lookup is read-only.
        """
        global _bundled
        with _bundled_lock:
            if _bundled is None:
                _bundled = cls._load_bundled()
            return _bundled

    @classmethod
    def _load_bundled(cls) -> OpenAPISchema:
        root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
        versions = [p.name for p in root.iterdir() if p.name.endswith("-local")]
        newest = max(versions, key=lambda v: tuple(int(x) for x in v[1:].split("-")[0].split(".")))
        document = json.loads((root / newest / "_definitions.json").read_text())
        return cls(document["$defs"])

    def root(self, group: str, kind: str, version: str = "") -> SchemaNode | None:
        """The schema of ``group``/``kind`` at ``version``, else at its most stable version."""
        versions = self._kinds.get((group, kind))
        if not versions:
            return None
        name = versions.get(version) or versions[max(versions, key=_version_rank)]
        return _OpenAPINode(self, self._defs[name])

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """Follow ``$ref`` (and single-entry ``allOf``) to the schema it names."""
        while True:
            ref = schema.get("$ref")
            if isinstance(ref, str):
                schema = {**self._defs.get(ref.rsplit("/", 1)[-1], {}), **_annotations(schema)}
                continue
            all_of = schema.get("allOf")
            if isinstance(all_of, list) and len(all_of) == 1:
                schema = {**all_of[0], **_annotations(schema)}
                continue
            return schema

    def ref_name(self, schema: Mapping[str, Any]) -> str:
        """The definition name a schema refers to, or ``""``."""
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            all_of = schema.get("allOf")
            if isinstance(all_of, list) and len(all_of) == 1:
                return self.ref_name(all_of[0])
            return ""
        return ref.rsplit("/", 1)[-1]


def _version_rank(version: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA over beta over alpha, then the higher number."""
    major, _, rest = version[1:].partition("alpha" if "alpha" in version else "beta")
    stage = 0 if "alpha" in version else 1 if "beta" in version else 2
    try:
        return stage, int(major or 0), int(rest or 0)
    except ValueError:
        return -1, 0, 0


def _annotations(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The ``x-kubernetes-*`` annotations a referring schema adds to the referenced one."""
    return {k: v for k, v in schema.items() if k.startswith("x-kubernetes-")}


class _OpenAPINode:
    """A lazily resolved view of one OpenAPI schema."""

    __slots__ = ("_lookup", "_raw", "_schema", "list_keys", "list_kind", "scalar")

    def __init__(self, lookup: OpenAPISchema, raw: Mapping[str, Any]) -> None:
        self._lookup = lookup
        self._raw = raw
        self._schema = lookup.resolve(raw)
        ref = lookup.ref_name(raw)
        if ref == _QUANTITY_REF:
            self.scalar = ScalarKind.QUANTITY
        elif ref == _INT_OR_STRING_REF or self._schema.get("x-kubernetes-int-or-string"):
            self.scalar = ScalarKind.INT_OR_STRING
        else:
            self.scalar = ScalarKind.PLAIN
        list_type = self._schema.get("x-kubernetes-list-type")
        keys = tuple(self._schema.get("x-kubernetes-list-map-keys") or ())
        merge_key = self._schema.get("x-kubernetes-patch-merge-key")
        if list_type in ("map", "set", "atomic"):
            self.list_kind: ListKind | None = ListKind(list_type)
        elif merge_key:
            self.list_kind = ListKind.MAP
        elif "items" in self._schema:
            self.list_kind = ListKind.ATOMIC
        else:
            self.list_kind = None
        self.list_keys: tuple[str, ...] = keys or ((merge_key,) if merge_key else ())

    def child(self, name: str) -> SchemaNode | None:
        """Schema of the object field ``name``."""
        sub = (self._schema.get("properties") or {}).get(name)
        return None if sub is None else _OpenAPINode(self._lookup, sub)

    def items(self) -> SchemaNode | None:
        """Schema of a list's items."""
        sub = self._schema.get("items")
        return _OpenAPINode(self._lookup, sub) if isinstance(sub, Mapping) else None

    def values(self) -> SchemaNode | None:
        """Schema of a string-keyed map's values."""
        sub = self._schema.get("additionalProperties")
        return _OpenAPINode(self._lookup, sub) if isinstance(sub, Mapping) else None
