"""The OpenAPI documents of the local cluster: ``/openapi/v2`` and ``/openapi/v3``.

Clients read these to learn the types the server serves: ``kubectl explain`` walks the
schemas, client-side ``kubectl apply`` and ``kubectl diff`` take strategic merge keys
and patch strategies from them, and ``kubectl`` looks for the ``fieldValidation``
parameter on each kind's PATCH operation to decide whether the server validates fields
itself. So each document carries, as a real API server's does:

- ``components.schemas`` (v3) or ``definitions`` (v2) with every ``x-kubernetes-*``
  extension and ``x-kubernetes-group-version-kind`` on the object kinds;
- ``paths`` for each served resource (list, create, get, replace, patch, delete,
  and the status and scale subresources), tagged with ``x-kubernetes-action`` and
  ``x-kubernetes-group-version-kind``.

``/openapi/v3`` is the index of per group-version documents (``api/v1``,
``apis/apps/v1``), each addressed with a content hash so clients cache them.
Documents are serialised once and rebuilt only when the served kinds or a CRD change.
Only JSON is served; a client that accepts nothing but protobuf gets ``None`` (404)
and falls back to the v3 documents, as kubectl does.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol

import orjson

from tether.localcluster.schema import (
    KUBERNETES_VERSION,
    GroupVersionKind,
    SchemaRegistry,
)

__all__ = ["OpenAPIDocuments", "ServedKind"]

_JSON: Final = "application/json"
_DEFS: Final = "#/$defs/"
_SPECIAL: Final[Mapping[str, dict[str, Any]]] = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "type": "string",
        "format": "int-or-string",
    },
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
}


class ServedKind(Protocol):
    """What the documents need to know of a served resource (discovery's view)."""

    @property
    def group(self) -> str:
        """API group, empty for the core group."""

    @property
    def versions(self) -> tuple[str, ...]:
        """Served versions."""

    @property
    def kind(self) -> str:
        """Kind of the objects."""

    @property
    def plural(self) -> str:
        """Resource name in URLs."""

    @property
    def namespaced(self) -> bool:
        """True for namespaced resources."""

    @property
    def status(self) -> bool:
        """True when the kind has a status subresource."""

    @property
    def scale(self) -> object | None:
        """Not ``None`` when the kind has a scale subresource."""


def _convert(node: Any, ref_prefix: str, *, v3: bool) -> Any:
    """Turn a bundled JSON-schema definition into its OpenAPI form."""
    if isinstance(node, list):
        return [_convert(item, ref_prefix, v3=v3) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _convert(sub, ref_prefix, v3=v3) for name, sub in value.items()}
        elif key == "$ref" and isinstance(value, str):
            out[key] = ref_prefix + value.rpartition("/")[2]
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if types:
                out[key] = types[0]
        elif key in ("oneOf", "anyOf") and _type_union(value):
            # The bundled definitions spell IntOrString and Quantity as type unions;
            # OpenAPI (and every client) knows them as strings with a format.
            union = {t for v in value for t in v["type"] if t != "null"}
            out.update(
                {"type": "string", "format": "int-or-string"}
                if "integer" in union
                else {"type": "string"}
            )
        else:
            out[key] = _convert(value, ref_prefix, v3=v3)
    if v3 and "$ref" in out and len(out) > 1:
        # OpenAPI 3.0 ignores siblings of $ref; the API server wraps the reference.
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    props = out.get("properties")
    if isinstance(props, dict):
        for name in ("apiVersion", "kind"):
            if isinstance(props.get(name), dict):
                props[name].pop("enum", None)
    return out


def _type_union(variants: Any) -> bool:
    return isinstance(variants, list) and all(
        isinstance(v, dict) and set(v) == {"type"} and isinstance(v["type"], list) for v in variants
    )


def _references(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value.rpartition("/")[2])
            elif key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    _references(sub, found)
            else:
                _references(value, found)
    elif isinstance(node, list):
        for item in node:
            _references(item, found)


class OpenAPIDocuments:
    """Serialised, cached OpenAPI documents for a schema registry and its served kinds.

    ``served`` returns the resources discovery lists; the documents are rebuilt when
    it returns something different or a CRD is (un)registered.
    """

    def __init__(
        self, registry: SchemaRegistry, served: Callable[[], Iterable[ServedKind]]
    ) -> None:
        self._registry = registry
        self._served = served
        # One lock around refresh and build: documents are built once per change, and a
        # reader never sees half of a rebuild.
        self._lock = threading.RLock()
        self._key: object = None
        self._v2: bytes | None = None
        self._v3: dict[str, bytes] = {}
        self._v3_index: bytes | None = None
        self._resources: list[tuple[GroupVersionKind, ServedKind]] = []
        self._names: dict[GroupVersionKind, str] = {}

    # -- serving ------------------------------------------------------------------

    def serve(self, path: str, accept: str = _JSON) -> tuple[bytes, str] | None:
        """The document at ``path``: ``/openapi/v2``, ``/openapi/v3`` or ``/openapi/v3/api/v1``.

        Returns ``(body, content type)``, or ``None`` for an unknown path or an
        ``Accept`` header that admits no JSON.
        """
        if accept and not any(t in accept for t in ("json", "*/*")):
            return None
        path = path.split("?", 1)[0].rstrip("/")
        if path == "/openapi/v2":
            return self.v2(), _JSON
        if path == "/openapi/v3":
            return self.v3_index(), _JSON
        prefix = "/openapi/v3/"
        if path.startswith(prefix):
            document = self.v3(path[len(prefix) :])
            return (document, _JSON) if document is not None else None
        return None

    def v2(self) -> bytes:
        """The swagger 2.0 document of every served kind."""
        with self._lock:
            self._refresh()
            if self._v2 is None:
                self._v2 = orjson.dumps(self._build_v2())
            return self._v2

    def v3_index(self) -> bytes:
        """The ``/openapi/v3`` index: one ``serverRelativeURL`` per group-version."""
        with self._lock:
            self._refresh()
            if self._v3_index is None:
                paths = {}
                for name in sorted(self._group_versions()):
                    digest = hashlib.sha512(self._v3_document(name)).hexdigest().upper()
                    paths[name] = {"serverRelativeURL": f"/openapi/v3/{name}?hash={digest}"}
                self._v3_index = orjson.dumps({"paths": paths})
            return self._v3_index

    def v3(self, group_version_path: str) -> bytes | None:
        """The document of ``api/v1`` or ``apis/<group>/<version>``, if served."""
        with self._lock:
            self._refresh()
            if group_version_path not in self._group_versions():
                return None
            return self._v3_document(group_version_path)

    # -- caching ------------------------------------------------------------------

    def _refresh(self) -> None:
        served = list(self._served())
        key = (
            self._registry.generation,
            tuple(
                (s.group, s.versions, s.kind, s.plural, s.namespaced, s.status, s.scale is not None)
                for s in served
            ),
        )
        if key == self._key:
            return
        self._key = key
        self._v2 = None
        self._v3 = {}
        self._v3_index = None
        self._names = dict(self._registry.builtin_kinds())
        self._names.update((gvk, _custom_name(gvk)) for gvk, _ in self._registry.custom_kinds())
        self._resources = [
            (GroupVersionKind(s.group, version, s.kind), s)
            for s in served
            for version in s.versions
            if self._registry.lookup(GroupVersionKind(s.group, version, s.kind).api_version, s.kind)
            is not None
        ]

    def _group_versions(self) -> set[str]:
        return {_gv_path(gvk) for gvk, _ in self._resources}

    def _v3_document(self, name: str) -> bytes:
        document = self._v3.get(name)
        if document is None:
            document = orjson.dumps(self._build_v3(name))
            self._v3[name] = document
        return document

    # -- building -----------------------------------------------------------------

    def _schemas(
        self, gvks: Iterable[GroupVersionKind], ref_prefix: str, *, v3: bool
    ) -> dict[str, Any]:
        """Definitions of ``gvks`` and everything they reference, converted."""
        definitions = self._registry.definitions
        builtin = dict(self._registry.builtin_kinds())
        custom = dict(self._registry.custom_kinds())
        roots: dict[str, Any] = {}
        gvks_list = list(gvks)
        for gvk in gvks_list:
            if gvk in custom:
                roots[_custom_name(gvk)] = custom[gvk].raw
            elif gvk in builtin:
                roots[builtin[gvk]] = definitions[builtin[gvk]]
        if any(s.scale is not None for g, s in self._resources if g in set(gvks_list)):
            roots[_SCALE_DEFINITION] = definitions[_SCALE_DEFINITION]
        pending = list(roots.values())
        seen = set(roots)
        while pending:
            found: set[str] = set()
            _references(pending.pop(), found)
            for name in found - seen:
                seen.add(name)
                roots[name] = definitions[name]
                pending.append(definitions[name])
        return {
            name: _SPECIAL.get(name) or _convert(raw, ref_prefix, v3=v3)
            for name, raw in sorted(roots.items())
        }

    def _build_v2(self) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        for gvk, served in self._resources:
            paths.update(_paths(gvk, served, "#/definitions/", self._ref_name(gvk), v3=False))
        return {
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": f"v{KUBERNETES_VERSION}"},
            "paths": paths,
            "definitions": self._schemas(
                (g for g, _ in self._resources), "#/definitions/", v3=False
            ),
        }

    def _build_v3(self, name: str) -> dict[str, Any]:
        members = [(gvk, s) for gvk, s in self._resources if _gv_path(gvk) == name]
        paths: dict[str, Any] = {}
        for gvk, served in members:
            paths.update(_paths(gvk, served, "#/components/schemas/", self._ref_name(gvk), v3=True))
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": f"v{KUBERNETES_VERSION}"},
            "paths": paths,
            "components": {
                "schemas": self._schemas((g for g, _ in members), "#/components/schemas/", v3=True),
            },
        }

    def _ref_name(self, gvk: GroupVersionKind) -> str:
        return self._names[gvk]


def _gv_path(gvk: GroupVersionKind) -> str:
    return f"apis/{gvk.group}/{gvk.version}" if gvk.group else f"api/{gvk.version}"


def _custom_name(gvk: GroupVersionKind) -> str:
    """The definition name the API server gives a custom kind (reversed group)."""
    reversed_group = ".".join(reversed(gvk.group.split(".")))
    return f"{reversed_group}.{gvk.version}.{gvk.kind}"


_QUERY: Final = {
    "get": ("pretty",),
    "list": (
        "pretty",
        "labelSelector",
        "fieldSelector",
        "limit",
        "continue",
        "resourceVersion",
        "watch",
    ),
    "post": ("pretty", "dryRun", "fieldManager", "fieldValidation"),
    "put": ("pretty", "dryRun", "fieldManager", "fieldValidation"),
    "patch": ("pretty", "dryRun", "fieldManager", "fieldValidation", "force"),
    "delete": ("pretty", "dryRun", "gracePeriodSeconds", "propagationPolicy"),
    "deletecollection": ("pretty", "dryRun", "labelSelector", "fieldSelector", "propagationPolicy"),
}
_SCALE: Final = GroupVersionKind("autoscaling", "v1", "Scale")
_SCALE_DEFINITION: Final = "io.k8s.api.autoscaling.v1.Scale"
_ACTIONS: Final = {
    "get": "get",
    "list": "list",
    "post": "post",
    "put": "put",
    "patch": "patch",
    "delete": "delete",
}
_PATCH_TYPES: Final = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)


def _parameter(name: str, *, v3: bool, where: str = "query") -> dict[str, Any]:
    kind = (
        "boolean"
        if name in ("watch", "force")
        else "integer"
        if name in ("limit", "gracePeriodSeconds")
        else "string"
    )
    parameter: dict[str, Any] = {"name": name, "in": where, "uniqueItems": True}
    if where == "path":
        parameter["required"] = True
    if v3:
        parameter["schema"] = {"type": kind, "uniqueItems": True}
    else:
        parameter["type"] = kind
    return parameter


def _operation(
    verb: str, gvk: GroupVersionKind, ref: str, *, v3: bool, subresource: str = ""
) -> dict[str, Any]:
    action = "deletecollection" if verb == "deletecollection" else _ACTIONS.get(verb, verb)
    operation: dict[str, Any] = {
        "operationId": f"{verb}{gvk.group.replace('.', '_')}{gvk.version}{gvk.kind}"
        + subresource.title(),
        "parameters": [_parameter(p, v3=v3) for p in _QUERY[verb]],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": gvk.group,
            "kind": gvk.kind,
            "version": gvk.version,
        },
    }
    schema = {"$ref": ref}
    if v3:
        operation["responses"] = {
            "200": {"description": "OK", "content": {_JSON: {"schema": schema}}}
        }
        if verb in ("post", "put"):
            operation["requestBody"] = {"content": {"*/*": {"schema": schema}}, "required": True}
        elif verb == "patch":
            operation["requestBody"] = {
                "content": {t: {"schema": {"type": "object"}} for t in _PATCH_TYPES},
                "required": True,
            }
    else:
        operation["responses"] = {"200": {"description": "OK", "schema": schema}}
        operation["consumes"] = list(_PATCH_TYPES) if verb == "patch" else ["*/*"]
        operation["produces"] = [_JSON, "application/yaml"]
        if verb in ("post", "put", "patch"):
            body = schema if verb != "patch" else {"type": "object"}
            operation["parameters"].append(
                {"name": "body", "in": "body", "required": True, "schema": body}
            )
    return operation


def _paths(
    gvk: GroupVersionKind, served: ServedKind, prefix: str, name: str, *, v3: bool
) -> dict[str, Any]:
    root = f"/apis/{gvk.group}/{gvk.version}" if gvk.group else f"/api/{gvk.version}"
    ref = prefix + name
    collection = (
        f"{root}/namespaces/{{namespace}}/{served.plural}"
        if served.namespaced
        else f"{root}/{served.plural}"
    )
    path_params = [_parameter("namespace", v3=v3, where="path")] if served.namespaced else []
    item_params = [_parameter("name", v3=v3, where="path"), *path_params]
    paths: dict[str, Any] = {
        collection: {
            "get": _operation("list", gvk, ref, v3=v3),
            "post": _operation("post", gvk, ref, v3=v3),
            "delete": _operation("deletecollection", gvk, ref, v3=v3),
            "parameters": path_params,
        },
        f"{collection}/{{name}}": {
            "get": _operation("get", gvk, ref, v3=v3),
            "put": _operation("put", gvk, ref, v3=v3),
            "patch": _operation("patch", gvk, ref, v3=v3),
            "delete": _operation("delete", gvk, ref, v3=v3),
            "parameters": item_params,
        },
    }
    if served.namespaced:
        paths[f"{root}/{served.plural}"] = {
            "get": _operation("list", gvk, ref, v3=v3),
            "parameters": [],
        }
    if served.status:
        paths[f"{collection}/{{name}}/status"] = {
            verb: _operation(verb, gvk, ref, v3=v3, subresource="status")
            for verb in ("get", "put", "patch")
        } | {"parameters": item_params}
    if served.scale is not None:
        scale_ref = prefix + _SCALE_DEFINITION
        paths[f"{collection}/{{name}}/scale"] = {
            verb: _operation(verb, _SCALE, scale_ref, v3=v3, subresource="scale")
            for verb in ("get", "put", "patch")
        } | {"parameters": item_params}
    return paths
