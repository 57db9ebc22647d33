"""Type schemas of the local cluster: built-in kinds and registered CRDs.

The built-in schemas come from the definitions bundled with ``kubernetes-validate``
(one JSON document holding every OpenAPI definition of a Kubernetes release, with the
``x-kubernetes-*`` extensions that drive merging). The file is parsed once per process
(a few milliseconds) and ``$ref`` links are resolved only when a walk reaches them, so a
lookup costs a dictionary access and a walk allocates one small node per visited field.

A :class:`Schema` is a read-only view of one node. Walk it with :meth:`Schema.field`,
:meth:`Schema.items` and :meth:`Schema.values`; ask it how its value merges with
:attr:`Schema.list_type`, :attr:`Schema.list_map_keys`, :attr:`Schema.map_type`,
:attr:`Schema.patch_merge_key` and :attr:`Schema.patch_strategies`. The merge rules
follow the API server's: a list without ``x-kubernetes-list-type`` is a map list when
it has a strategic merge key, a set when it merges primitives, atomic otherwise; custom
resource lists are atomic unless their schema says otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Final

__all__ = [
    "OBJECT_META_REF",
    "GroupVersionKind",
    "ListType",
    "MapType",
    "Schema",
    "SchemaError",
    "SchemaRegistry",
    "load_builtin_definitions",
]

KUBERNETES_VERSION: Final = "1.35.0"
OBJECT_META_REF: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_REF_PREFIX: Final = "#/$defs/"

JSON = Any
"""A decoded JSON value (dict, list, str, int, float, bool or None)."""


class SchemaError(Exception):
    """A schema could not be loaded or a CRD could not be registered."""


class ListType(StrEnum):
    """How a list merges (``x-kubernetes-list-type``)."""

    ATOMIC = "atomic"
    SET = "set"
    MAP = "map"


class MapType(StrEnum):
    """How an object merges (``x-kubernetes-map-type``)."""

    ATOMIC = "atomic"
    GRANULAR = "granular"


@dataclass(frozen=True, slots=True, order=True)
class GroupVersionKind:
    """The type of an object: API group (empty for the core group), version and kind."""

    group: str
    version: str
    kind: str

    @classmethod
    def parse(cls, api_version: str, kind: str) -> GroupVersionKind:
        """Split an ``apiVersion`` (``apps/v1`` or ``v1``) and pair it with ``kind``."""
        group, _, version = api_version.rpartition("/")
        return cls(group, version, kind)

    @property
    def api_version(self) -> str:
        """The ``apiVersion`` string: ``group/version``, or ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version


@cache
def load_builtin_definitions(kubernetes_version: str = KUBERNETES_VERSION) -> Mapping[str, JSON]:
    """Parse the bundled definitions of one Kubernetes release (once per process).

    The package is located without importing it: its import pulls in a JSON-schema
    validator the local cluster does not use, which would triple the start-up cost.
    """
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise SchemaError(
            "failed to load schemas: the kubernetes-validate package is not installed"
        )
    folder = Path(spec.submodule_search_locations[0]) / "kubernetes-json-schema"
    path = folder / f"v{kubernetes_version}-local" / "_definitions.json"
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise SchemaError(
            f"failed to load schemas of kubernetes {kubernetes_version}: {error}"
        ) from error
    definitions: Mapping[str, JSON] = document["$defs"]
    return definitions


def _json_types(raw: Mapping[str, JSON]) -> frozenset[str]:
    declared = raw.get("type")
    if declared is None:
        variants = raw.get("oneOf") or raw.get("anyOf") or ()
        return frozenset(t for v in variants for t in _json_types(v))
    if isinstance(declared, str):
        return frozenset((declared,))
    return frozenset(t for t in declared if t != "null")


class Schema:
    """A lazily resolved, read-only node of a type schema.

    Children and merge properties are computed on first access and cached, so walking
    the same path twice costs a few dictionary lookups.
    """

    def __init__(
        self, raw: Mapping[str, JSON], definitions: Mapping[str, JSON], *, crd: bool = False
    ) -> None:
        self.raw = _resolve(raw, definitions)
        self.definitions = definitions
        # Built-in definitions reached from a CRD (its ObjectMeta) keep built-in rules.
        self.crd = crd and "$ref" not in raw
        self._children: dict[str, Schema | None] = {}
        self._items: Schema | None = None
        self._values: Schema | None = None

    def __repr__(self) -> str:
        return f"Schema(types={sorted(self.types)}, fields={list(self.properties)[:5]})"

    def _child(self, raw: Mapping[str, JSON]) -> Schema:
        return Schema(raw, self.definitions, crd=self.crd)

    # -- structure ----------------------------------------------------------------

    @cached_property
    def types(self) -> frozenset[str]:
        """The JSON types a value may have, ``null`` excluded (empty: any type)."""
        return _json_types(self.raw)

    @cached_property
    def properties(self) -> Mapping[str, JSON]:
        """The declared fields of an object schema, by name (raw, unresolved)."""
        props: Mapping[str, JSON] = self.raw.get("properties") or {}
        return props

    @property
    def required(self) -> Sequence[str]:
        """The fields an object must carry."""
        required: Sequence[str] = self.raw.get("required") or ()
        return required

    def field(self, name: str) -> Schema | None:
        """The schema of field ``name``, or ``None`` when the object does not declare it.

        An object with free-form values (``additionalProperties``) answers with the value
        schema; the metadata of an embedded resource is ``ObjectMeta``.
        """
        try:
            return self._children[name]
        except KeyError:
            pass
        raw = self.properties.get(name)
        child: Schema | None
        if raw is not None:
            child = self._child(raw)
        elif self.embedded_resource and name == "metadata":
            child = self._child({"$ref": _REF_PREFIX + OBJECT_META_REF})
        elif self.embedded_resource and name in ("apiVersion", "kind"):
            child = self._child({"type": "string"})
        else:
            child = self.values()
        self._children[name] = child
        return child

    def items(self) -> Schema | None:
        """The schema of a list's items."""
        if self._items is None:
            raw = self.raw.get("items")
            if isinstance(raw, Mapping):
                self._items = self._child(raw)
        return self._items

    def values(self) -> Schema | None:
        """The schema of a map's values (``additionalProperties``)."""
        if self._values is None:
            raw = self.raw.get("additionalProperties")
            if isinstance(raw, Mapping):
                self._values = self._child(raw)
        return self._values

    @cached_property
    def is_map(self) -> bool:
        """True for an object keyed by arbitrary names (``additionalProperties``)."""
        return isinstance(self.raw.get("additionalProperties"), Mapping)

    @cached_property
    def preserves_unknown_fields(self) -> bool:
        """True when fields the schema does not declare are kept (free-form JSON)."""
        if self.raw.get("x-kubernetes-preserve-unknown-fields") is True:
            return True
        if self.raw.get("additionalProperties") is True:
            return True
        if "properties" in self.raw or isinstance(self.raw.get("additionalProperties"), Mapping):
            return False
        types = self.types
        # An untyped node (``JSON``) or a bare ``type: object`` (``RawExtension``) is
        # free-form in the built-in schemas; in a structural CRD schema a bare object is
        # an empty object whose unknown fields are pruned.
        return not types or (not self.crd and types == frozenset(("object",)))

    @cached_property
    def int_or_string(self) -> bool:
        """True for ``IntOrString`` values."""
        if self.raw.get("x-kubernetes-int-or-string") is True:
            return True
        return self.types == frozenset(("integer", "string"))

    @property
    def embedded_resource(self) -> bool:
        """True when the value is a whole object with apiVersion, kind and metadata."""
        return self.raw.get("x-kubernetes-embedded-resource") is True

    # -- merge semantics ----------------------------------------------------------

    @property
    def patch_merge_key(self) -> str | None:
        """The strategic merge key of a list (``x-kubernetes-patch-merge-key``)."""
        key: str | None = self.raw.get("x-kubernetes-patch-merge-key")
        return key

    @cached_property
    def patch_strategies(self) -> frozenset[str]:
        """The strategic merge patch strategies: ``merge``, ``retainKeys``, ``replace``."""
        strategy: str = self.raw.get("x-kubernetes-patch-strategy") or ""
        return frozenset(s for s in strategy.split(",") if s)

    @cached_property
    def list_type(self) -> ListType:
        """How a list merges under server-side apply."""
        declared = self.raw.get("x-kubernetes-list-type")
        if declared is not None:
            return ListType(declared)
        if self.crd:
            return ListType.ATOMIC
        if "merge" in self.patch_strategies:
            if self.patch_merge_key:
                return ListType.MAP
            items = self.items()
            if items is not None and items.types & {"string", "integer", "number", "boolean"}:
                return ListType.SET
        return ListType.ATOMIC

    @cached_property
    def list_map_keys(self) -> tuple[str, ...]:
        """The keys identifying the items of a map list."""
        keys = self.raw.get("x-kubernetes-list-map-keys")
        if keys:
            return tuple(keys)
        key = self.patch_merge_key
        return (key,) if key else ()

    @cached_property
    def list_key_defaults(self) -> Mapping[str, JSON]:
        """Defaults of a map list's key fields, used to identify items that omit them."""
        items = self.items()
        if items is None:
            return {}
        defaults: dict[str, JSON] = {}
        for key in self.list_map_keys:
            declared = items.properties.get(key)
            if isinstance(declared, Mapping) and "default" in declared:
                defaults[key] = declared["default"]
        return defaults

    @cached_property
    def map_type(self) -> MapType:
        """Whether an object is merged field by field or replaced whole."""
        declared = self.raw.get("x-kubernetes-map-type")
        return MapType(declared) if declared else MapType.GRANULAR

    # -- documentation and constraints -------------------------------------------

    @property
    def description(self) -> str:
        """The field's documentation."""
        text: str = self.raw.get("description") or ""
        return text

    def get(self, keyword: str, default: JSON = None) -> JSON:
        """Any other keyword of the node (``enum``, ``format``, ``default``, ...)."""
        return self.raw.get(keyword, default)


def _resolve(raw: Mapping[str, JSON], definitions: Mapping[str, JSON]) -> Mapping[str, JSON]:
    """Inline a ``$ref`` (or a single-element ``allOf``), keeping the referrer's keywords.

    The referrer's own keywords win: a property carries its list type, merge key and
    description beside the reference to its item type.
    """
    ref = raw.get("$ref")
    if not isinstance(ref, str):
        all_of = raw.get("allOf")
        if not (isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]):
            return raw
        ref = all_of[0]["$ref"]
    name = ref.rpartition("/")[2] if ref.startswith(_REF_PREFIX) or "#/" in ref else ref
    try:
        target = definitions[name]
    except KeyError as error:
        raise SchemaError(
            f"failed to resolve schema reference {ref}: unknown definition"
        ) from error
    merged = dict(_resolve(target, definitions))
    merged.update((k, v) for k, v in raw.items() if k not in ("$ref", "allOf"))
    return merged


@dataclass(frozen=True, slots=True)
class _CustomKind:
    crd_name: str
    gvk: GroupVersionKind
    schema: Schema


class SchemaRegistry:
    """The type schemas the local cluster serves: built-in kinds plus registered CRDs.

    Thread-safe for concurrent lookups; CRD changes bump :attr:`generation`, which
    caches built from the registry (OpenAPI documents) compare to invalidate.
    """

    def __init__(self, definitions: Mapping[str, JSON] | None = None) -> None:
        self._definitions = definitions if definitions is not None else load_builtin_definitions()
        self._builtin: dict[GroupVersionKind, Schema] | None = None
        self._builtin_names: dict[GroupVersionKind, str] = {}
        self._custom: dict[GroupVersionKind, _CustomKind] = {}
        self._lock = threading.Lock()
        self.generation = 0

    @property
    def definitions(self) -> Mapping[str, JSON]:
        """Every built-in definition by its OpenAPI name."""
        return self._definitions

    def _builtin_index(self) -> dict[GroupVersionKind, Schema]:
        if self._builtin is None:
            index: dict[GroupVersionKind, Schema] = {}
            for name, raw in self._definitions.items():
                gvks: list[dict[str, str]] = raw.get("x-kubernetes-group-version-kind") or []
                # Option types (DeleteOptions, WatchEvent) are registered in every group;
                # only kinds owned by exactly one group-version are objects one stores.
                if len(gvks) != 1:
                    continue
                gvk = GroupVersionKind(gvks[0]["group"], gvks[0]["version"], gvks[0]["kind"])
                index[gvk] = Schema(raw, self._definitions)
                self._builtin_names[gvk] = name
            self._builtin = index
        return self._builtin

    def lookup(self, api_version: str, kind: str) -> Schema | None:
        """The schema of objects of ``kind`` in ``api_version``, or ``None`` if unknown."""
        gvk = GroupVersionKind.parse(api_version, kind)
        custom = self._custom.get(gvk)
        if custom is not None:
            return custom.schema
        return self._builtin_index().get(gvk)

    def definition(self, name: str) -> Schema:
        """The built-in definition named ``name`` (``io.k8s.api.core.v1.PodSpec``)."""
        try:
            return Schema(self._definitions[name], self._definitions)
        except KeyError as error:
            raise SchemaError(f"failed to find schema definition {name}") from error

    def is_custom(self, api_version: str, kind: str) -> bool:
        """True when the kind is served from a registered CRD."""
        return GroupVersionKind.parse(api_version, kind) in self._custom

    def builtin_kinds(self) -> Iterator[tuple[GroupVersionKind, str]]:
        """Every built-in kind with the name of its definition."""
        self._builtin_index()
        yield from sorted(self._builtin_names.items())

    def custom_kinds(self) -> Iterator[tuple[GroupVersionKind, Schema]]:
        """Every kind served from a registered CRD, with its schema."""
        for gvk, custom in sorted(self._custom.items()):
            yield gvk, custom.schema

    def register_crd(self, crd: Mapping[str, JSON]) -> tuple[GroupVersionKind, ...]:
        """Serve the schemas of every served version of a CustomResourceDefinition.

        Registering a CRD again replaces its previous versions. Returns the kinds served.
        """
        name = str((crd.get("metadata") or {}).get("name") or "")
        spec = crd.get("spec")
        if not name or not isinstance(spec, Mapping):
            raise SchemaError(
                f"failed to register customresourcedefinition {name or '<unnamed>'}: no spec"
            )
        group = spec.get("group")
        kind = (spec.get("names") or {}).get("kind")
        if not group or not kind:
            raise SchemaError(
                f"failed to register customresourcedefinition {name}: "
                "spec.group and spec.names.kind are required"
            )
        kinds: dict[GroupVersionKind, _CustomKind] = {}
        for version in spec.get("versions") or ():
            if not version.get("served", True):
                continue
            gvk = GroupVersionKind(group, version["name"], kind)
            raw = ((version.get("schema") or {}).get("openAPIV3Schema")) or {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
            }
            kinds[gvk] = _CustomKind(
                name, gvk, Schema(_custom_root(raw, gvk), self._definitions, crd=True)
            )
        with self._lock:
            self._drop(name)
            self._custom.update(kinds)
            self.generation += 1
        return tuple(sorted(kinds))

    def unregister_crd(self, name: str) -> tuple[GroupVersionKind, ...]:
        """Stop serving the kinds of the CRD ``name``; returns the kinds dropped."""
        with self._lock:
            dropped = self._drop(name)
            if dropped:
                self.generation += 1
        return dropped

    def _drop(self, crd_name: str) -> tuple[GroupVersionKind, ...]:
        dropped = tuple(sorted(g for g, c in self._custom.items() if c.crd_name == crd_name))
        for gvk in dropped:
            del self._custom[gvk]
        return dropped


def _custom_root(raw: Mapping[str, JSON], gvk: GroupVersionKind) -> dict[str, JSON]:
    """A CRD's root schema with the fields every object has typed as the server types them.

    CRD authors may not constrain ``metadata`` beyond name and generateName, so the
    server treats it as ``ObjectMeta``; ``apiVersion`` and ``kind`` are strings.
    """
    root = dict(raw)
    properties = dict(root.get("properties") or {})
    properties["apiVersion"] = {"type": "string", "description": "APIVersion of the object."}
    properties["kind"] = {"type": "string", "description": "Kind of the object."}
    properties["metadata"] = {
        "$ref": _REF_PREFIX + OBJECT_META_REF,
        "description": "Standard object's metadata.",
    }
    root["properties"] = properties
    root["x-kubernetes-group-version-kind"] = [
        {"group": gvk.group, "version": gvk.version, "kind": gvk.kind}
    ]
    return root
