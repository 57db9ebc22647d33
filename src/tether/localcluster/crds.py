"""CustomResourceDefinitions: serving their kinds, their status, their cleanup.

Like kube-apiserver's apiextensions controllers:

- creating a CRD gets the ``customresourcecleanup.apiextensions.k8s.io`` finalizer and
  is checked (group, names, exactly one storage version, each served version with a
  schema); a malformed one is a 422;
- once stored, its kinds are served at once (the type is registered before the
  create returns, so discovery and the next request see it) with every served
  version, its scope, status and scale subresources, short names and categories, and
  its schemas are registered for validation and defaulting;
- its ``status`` gets ``acceptedNames``, ``storedVersions`` and the ``NamesAccepted``
  and ``Established`` conditions (``NamesAccepted`` false on a kind conflict);
- deleting it marks it ``Terminating``, deletes every custom resource of it, then
  stops serving the kinds and removes the finalizer.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from tether.localcluster.errors import APIError, Cause, invalid
from tether.localcluster.loop import WorkQueue
from tether.localcluster.options import DeleteOptions, WriteOptions
from tether.localcluster.registry import Registry
from tether.localcluster.resources import PrinterColumn, ResourceType, ScalePaths
from tether.localcluster.schema import SchemaError, SchemaRegistry
from tether.localcluster.store import Store
from tether.localcluster.watch import Event

log = logging.getLogger(__name__)

CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
MANAGER = "apiextensions-controller"


def resource_type(crd: dict[str, Any]) -> ResourceType:
    """The served type a (valid) CRD describes."""
    spec = crd["spec"]
    names = spec["names"]
    versions = [v for v in spec["versions"] if v.get("served", True)]
    storage = next(v for v in spec["versions"] if v.get("storage"))
    ordered = [storage["name"]] + [v["name"] for v in versions if v["name"] != storage["name"]]
    subresources = storage.get("subresources") or {}
    columns = storage.get("additionalPrinterColumns") or [
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    ]
    scale = subresources.get("scale")
    return ResourceType(
        group=spec["group"],
        versions=tuple(ordered),
        kind=names["kind"],
        plural=names["plural"],
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        status="status" in subresources,
        scale=ScalePaths(
            scale["specReplicasPath"], scale["statusReplicasPath"], scale.get("labelSelectorPath")
        )
        if isinstance(scale, dict)
        else None,
        singular=names.get("singular") or names["kind"].lower(),
        custom=True,
        generation=True,
        printer_columns=tuple(
            PrinterColumn(
                str(c.get("name", "")),
                str(c.get("type", "string")),
                str(c.get("jsonPath", "")),
                str(c.get("description", "")),
                int(c.get("priority") or 0),
                str(c.get("format", "")),
            )
            for c in columns
            if isinstance(c, dict)
        ),
    )


def check_definition(crd: dict[str, Any]) -> None:
    """422 with every cause if the CRD cannot be served."""
    name = crd["metadata"].get("name", "")
    spec = crd.get("spec")
    causes: list[Cause] = []
    if not isinstance(spec, dict):
        raise invalid(
            "CustomResourceDefinition",
            CRDS[0],
            name,
            [Cause("spec", "Required value", "FieldValueRequired")],
        )
    if not spec.get("group"):
        causes.append(Cause("spec.group", "Required value", "FieldValueRequired"))
    names: dict[str, Any] = spec["names"] if isinstance(spec.get("names"), dict) else {}
    for key in ("plural", "kind"):
        if not names.get(key):
            causes.append(Cause(f"spec.names.{key}", "Required value", "FieldValueRequired"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            Cause(
                "spec.scope",
                f'Unsupported value: "{spec.get("scope")}": '
                'supported values: "Cluster", "Namespaced"',
                "FieldValueNotSupported",
            )
        )
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        causes.append(
            Cause(
                "spec.versions",
                "Invalid value: must have exactly one version marked as storage version",
            )
        )
    else:
        storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
        if len(storage) != 1:
            causes.append(
                Cause(
                    "spec.versions",
                    "Invalid value: must have exactly one version marked as storage version",
                )
            )
        for index, version in enumerate(versions):
            if not isinstance(version, dict) or not version.get("name"):
                causes.append(
                    Cause(f"spec.versions[{index}].name", "Required value", "FieldValueRequired")
                )
            elif not (version.get("schema") or {}).get("openAPIV3Schema"):
                causes.append(
                    Cause(
                        f"spec.versions[{index}].schema.openAPIV3Schema",
                        "Required value: schemas are required",
                        "FieldValueRequired",
                    )
                )
    if causes:
        raise invalid("CustomResourceDefinition", CRDS[0], name, causes)


class CRDController:
    """Serves the kinds CustomResourceDefinitions define."""

    def __init__(self, store: Store, registry: Registry, schemas: SchemaRegistry) -> None:
        """Serve CRDs stored in ``store`` through ``registry`` and ``schemas``."""
        self._store = store
        self._registry = registry
        self._schemas = schemas
        self._served: dict[str, tuple[str, str]] = {}
        self._by_resource: dict[tuple[str, str], str] = {}
        self.queue: WorkQueue[str] = WorkQueue("crd-controller", self._reconcile)
        store.add_admitter(self.admit)

    def admit(
        self,
        rtype: ResourceType,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        options: WriteOptions,
    ) -> list[str]:
        """Check CRDs and give new ones the cleanup finalizer."""
        if rtype.key != CRDS or options.subresource == "status":
            return []
        check_definition(obj)
        if old is None:
            finalizers = obj["metadata"].setdefault("finalizers", [])
            if CLEANUP_FINALIZER not in finalizers:
                finalizers.append(CLEANUP_FINALIZER)
        elif (old["spec"]["group"], old["spec"]["names"]["plural"]) != (
            obj["spec"]["group"],
            obj["spec"]["names"]["plural"],
        ):
            raise invalid(
                "CustomResourceDefinition",
                CRDS[0],
                obj["metadata"]["name"],
                [Cause("spec.names.plural", "Invalid value: field is immutable")],
            )
        return []

    def start(self) -> None:
        """Serve every stored CRD, then begin reconciling."""
        crd_type = self._registry.get(*CRDS)
        assert crd_type is not None
        for entry in self._store.objects_of(CRDS):
            self._serve(entry.obj)
            self.queue.add(entry.metadata["name"])
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Serve or drop kinds as CRDs change (synchronously: before the write returns)."""
        if event.resource != CRDS:
            if event.type == "DELETED" and event.resource in self._by_resource:
                self.queue.add(self._by_resource[event.resource])  # a terminating CRD?
            return
        if event.type != "DELETED" and "deletionTimestamp" not in event.entry.metadata:
            self._serve(event.entry.obj)
        elif event.type == "DELETED":
            self._unserve(event.name)
        self.queue.add(event.name)

    def _serve(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        rtype = resource_type(crd)
        existing = self._registry.kind_in_group(rtype.group, rtype.kind)
        if existing is not None and existing.plural != rtype.plural:
            return  # a kind conflict: NamesAccepted goes False in the status
        try:
            self._schemas.register_crd(crd)
        except SchemaError as error:
            log.warning("failed to register schemas of %s: %s", name, error)
        self._registry.add(rtype)
        self._served[name] = rtype.key
        self._by_resource[rtype.key] = name

    def _unserve(self, name: str) -> None:
        key = self._served.pop(name, None)
        if key is not None:
            self._registry.remove(*key)
            self._by_resource.pop(key, None)
        self._schemas.unregister_crd(name)

    async def _reconcile(self, name: str) -> None:
        crd_type = self._registry.get(*CRDS)
        assert crd_type is not None
        entry = self._store.lookup(crd_type, None, name)
        if entry is None:
            return
        if "deletionTimestamp" in entry.metadata:
            await self._terminate(crd_type, name)
            return
        obj = copy.deepcopy(entry.obj)
        obj["status"] = self._status(entry.obj)
        if obj["status"] != entry.obj.get("status"):
            await self._store.replace_with(
                crd_type, entry, obj, WriteOptions(field_manager=MANAGER, subresource="status")
            )

    def _status(self, crd: dict[str, Any]) -> dict[str, Any]:
        spec = crd["spec"]
        old = crd.get("status") or {}
        rtype = resource_type(crd)
        served = self._served.get(crd["metadata"]["name"]) == rtype.key
        names = {
            "plural": rtype.plural,
            "singular": rtype.singular_name,
            "kind": rtype.kind,
            "listKind": spec["names"].get("listKind") or rtype.list_kind,
        }
        if rtype.short_names:
            names["shortNames"] = list(rtype.short_names)
        if rtype.categories:
            names["categories"] = list(rtype.categories)
        if served:
            conditions = [
                ("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                (
                    "Established",
                    "True",
                    "InitialNamesAccepted",
                    "the initial names have been accepted",
                ),
            ]
        else:
            conditions = [
                ("NamesAccepted", "False", "KindConflict", f'"{rtype.kind}" is already in use'),
                ("Established", "False", "NotAccepted", "not all names are accepted"),
            ]
        stored = list(old.get("storedVersions") or [])
        if rtype.version not in stored:
            stored.append(rtype.version)
        return {
            "conditions": _conditions(
                old.get("conditions") or [], conditions, self._store.timestamp()
            ),
            "acceptedNames": names
            if served
            else old.get("acceptedNames", {"plural": "", "kind": ""}),
            "storedVersions": stored,
        }

    async def _terminate(self, crd_type: ResourceType, name: str) -> None:
        key = self._served.get(name)
        rtype = self._registry.get(*key) if key else None
        remaining = 0
        if rtype is not None:
            for entry in list(self._store.objects_of(rtype.key)):
                remaining += 1
                if "deletionTimestamp" not in entry.metadata:
                    try:
                        await self._store.delete(
                            rtype,
                            entry.metadata.get("namespace"),
                            entry.metadata["name"],
                            DeleteOptions(),
                        )
                    except APIError as error:
                        if error.code != 404:
                            raise
        current = self._store.lookup(crd_type, None, name)
        if current is None:
            return
        if remaining and rtype is not None and list(self._store.objects_of(rtype.key)):
            obj = copy.deepcopy(current.obj)
            status = obj.setdefault("status", {})
            status["conditions"] = _conditions(
                status.get("conditions") or [],
                [
                    (
                        "Terminating",
                        "True",
                        "InstanceDeletionInProgress",
                        "CustomResource deletion is in progress",
                    )
                ],
                self._store.timestamp(),
            )
            if status != current.obj.get("status"):
                await self._store.replace_with(
                    crd_type,
                    current,
                    obj,
                    WriteOptions(field_manager=MANAGER, subresource="status"),
                )
            return  # reconciled again as each instance's deletion commits
        self._unserve(name)
        current = self._store.lookup(crd_type, None, name)
        if current is None:
            return
        obj = copy.deepcopy(current.obj)
        obj["metadata"]["finalizers"] = [
            f for f in obj["metadata"].get("finalizers") or [] if f != CLEANUP_FINALIZER
        ]
        await self._store.replace_with(crd_type, current, obj, WriteOptions(field_manager=MANAGER))


def _conditions(
    old: list[dict[str, Any]], wanted: list[tuple[str, str, str, str]], now: str
) -> list[dict[str, Any]]:
    """``old`` conditions updated to ``wanted`` at ``now``, keeping times that still hold."""
    by_type = {c.get("type"): c for c in old}
    for kind, status, reason, message in wanted:
        previous = by_type.get(kind)
        since = (
            previous.get("lastTransitionTime")
            if previous and previous.get("status") == status
            else now
        )
        by_type[kind] = {
            "type": kind,
            "status": status,
            "lastTransitionTime": since,
            "reason": reason,
            "message": message,
        }
    return list(by_type.values())
