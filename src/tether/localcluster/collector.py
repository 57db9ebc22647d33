"""Garbage collection by ``ownerReferences`` and namespace termination.

:class:`GarbageCollector` follows kube-controller-manager's garbage collector:

- a dependent all of whose owners are gone is deleted (background propagation);
- an owner deleted with ``propagationPolicy=Foreground`` carries the
  ``foregroundDeletion`` finalizer: its dependents are deleted (foreground too), and
  the finalizer is removed once no dependent with ``blockOwnerDeletion`` remains;
- an owner deleted with ``Orphan`` carries the ``orphan`` finalizer: the owner's
  reference is removed from every dependent, then the finalizer.

:class:`NamespaceController` empties a namespace being deleted (phase
``Terminating``), then removes the ``kubernetes`` finalizer from its spec, upon which
the store removes it.
"""

from __future__ import annotations

import copy
from typing import Any

from tether.localcluster.errors import APIError
from tether.localcluster.loop import WorkQueue
from tether.localcluster.options import DeleteOptions, WriteOptions
from tether.localcluster.registry import Registry
from tether.localcluster.store import NAMESPACES, Store
from tether.localcluster.watch import Entry, Event

ObjectKey = tuple[tuple[str, str], str, str]

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
GC_MANAGER = "generic-garbage-collector"
NAMESPACE_MANAGER = "namespace-controller"


def _owner_uids(entry: Entry) -> tuple[str, ...]:
    refs = entry.metadata.get("ownerReferences") or []
    return tuple(r["uid"] for r in refs if isinstance(r, dict) and r.get("uid"))


class GarbageCollector:
    """Deletes dependents of deleted owners, honouring propagation policies."""

    def __init__(self, store: Store, registry: Registry) -> None:
        """Collect garbage in ``store``."""
        self._store = store
        self._registry = registry
        self._dependents: dict[str, set[ObjectKey]] = {}
        self._owners: dict[ObjectKey, tuple[str, ...]] = {}
        self.queue: WorkQueue[ObjectKey] = WorkQueue("garbage-collector", self._reconcile)

    def start(self) -> None:
        """Index every stored object and begin collecting."""
        for rkey in self._store.resources():
            for entry in self._store.objects_of(rkey):
                key = (rkey, entry.metadata.get("namespace", ""), entry.metadata["name"])
                self._index(key, entry)
                if self._owners.get(key) or "deletionTimestamp" in entry.metadata:
                    self.queue.add(key)
        self.queue.start()

    def _index(self, key: ObjectKey, entry: Entry | None) -> None:
        for uid in self._owners.pop(key, ()):
            deps = self._dependents.get(uid)
            if deps is not None:
                deps.discard(key)
                if not deps:
                    del self._dependents[uid]
        if entry is not None:
            owners = _owner_uids(entry)
            if owners:
                self._owners[key] = owners
                for uid in owners:
                    self._dependents.setdefault(uid, set()).add(key)

    def on_event(self, event: Event) -> None:
        """Update the owner index and mark what needs collecting."""
        key = (event.resource, event.namespace, event.name)
        uid = event.entry.metadata.get("uid", "")
        if event.type == "DELETED":
            self._index(key, None)
            for dependent in self._dependents.get(uid, ()):
                self.queue.add(dependent)
            for owner in _owner_uids(event.entry):
                located = self._store.by_uid(owner)
                if located is not None:
                    self.queue.add(located)
            return
        self._index(key, event.entry)
        if key in self._owners or "deletionTimestamp" in event.entry.metadata:
            self.queue.add(key)
        if "deletionTimestamp" in event.entry.metadata:
            for dependent in self._dependents.get(uid, ()):
                self.queue.add(dependent)

    def _lookup(self, key: ObjectKey) -> Entry | None:
        rtype = self._registry.get(*key[0])
        return None if rtype is None else self._store.lookup(rtype, key[1], key[2])

    async def _reconcile(self, key: ObjectKey) -> None:
        entry = self._lookup(key)
        if entry is None:
            return
        meta = entry.metadata
        finalizers = meta.get("finalizers") or []
        if "deletionTimestamp" in meta:
            if ORPHAN in finalizers:
                await self._orphan(entry)
            elif FOREGROUND in finalizers:
                await self._foreground(key, entry)
            return
        owners = _owner_uids(entry)
        if not owners:
            return
        alive = [self._lookup(loc) for uid in owners if (loc := self._store.by_uid(uid))]
        live_owners = [o for o in alive if o is not None]
        if not live_owners:
            await self._delete(key, "Background")
        elif all(FOREGROUND in (o.metadata.get("finalizers") or []) for o in live_owners):
            await self._delete(key, "Foreground")

    async def _delete(self, key: ObjectKey, propagation: str) -> None:
        rtype = self._registry.get(*key[0])
        if rtype is None:
            return
        try:
            await self._store.delete(
                rtype, key[1] or None, key[2], DeleteOptions(propagation=propagation)
            )
        except APIError as error:
            if error.code != 404:
                raise

    async def _orphan(self, owner: Entry) -> None:
        uid = owner.metadata["uid"]
        for dep_key in list(self._dependents.get(uid, ())):
            dep = self._lookup(dep_key)
            rtype = self._registry.get(*dep_key[0])
            if dep is None or rtype is None:
                continue
            obj = copy.deepcopy(dep.obj)
            refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                obj["metadata"]["ownerReferences"] = refs
            else:
                obj["metadata"].pop("ownerReferences", None)
            await self._store.replace_with(rtype, dep, obj, WriteOptions(field_manager=GC_MANAGER))
        await self._drop_finalizer(owner, ORPHAN)

    async def _foreground(self, key: ObjectKey, owner: Entry) -> None:
        uid = owner.metadata["uid"]
        blocking = False
        for dep_key in list(self._dependents.get(uid, ())):
            dep = self._lookup(dep_key)
            if dep is None:
                continue
            if any(
                r.get("uid") == uid and r.get("blockOwnerDeletion")
                for r in dep.metadata.get("ownerReferences") or []
            ):
                blocking = True
            if "deletionTimestamp" not in dep.metadata:
                await self._delete(dep_key, "Foreground")
        if not blocking:
            await self._drop_finalizer(owner, FOREGROUND)

    async def _drop_finalizer(self, entry: Entry, finalizer: str) -> None:
        rtype = self._registry.kind_in_group(
            entry.obj["apiVersion"].rpartition("/")[0], entry.obj["kind"]
        )
        current = (
            self._store.lookup(rtype, entry.metadata.get("namespace"), entry.metadata["name"])
            if rtype
            else None
        )
        if rtype is None or current is None:
            return
        obj = copy.deepcopy(current.obj)
        obj["metadata"]["finalizers"] = [
            f for f in obj["metadata"].get("finalizers") or [] if f != finalizer
        ]
        if not obj["metadata"]["finalizers"]:
            del obj["metadata"]["finalizers"]
        await self._store.replace_with(rtype, current, obj, WriteOptions(field_manager=GC_MANAGER))


class NamespaceController:
    """Empties namespaces being deleted, then lets them go."""

    def __init__(self, store: Store, registry: Registry) -> None:
        """Terminate namespaces in ``store``."""
        self._store = store
        self._registry = registry
        self._terminating: set[str] = set()
        self.queue: WorkQueue[str] = WorkQueue("namespace-controller", self._reconcile)

    def start(self) -> None:
        """Resume terminating namespaces and begin watching."""
        for entry in self._store.objects_of(NAMESPACES):
            if "deletionTimestamp" in entry.metadata:
                self._terminating.add(entry.metadata["name"])
                self.queue.add(entry.metadata["name"])
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark namespaces to finish terminating."""
        if event.resource == NAMESPACES:
            if event.type == "DELETED":
                self._terminating.discard(event.name)
            elif "deletionTimestamp" in event.entry.metadata:
                self._terminating.add(event.name)
                self.queue.add(event.name)
        elif event.namespace in self._terminating and event.type == "DELETED":
            self.queue.add(event.namespace)

    async def _reconcile(self, name: str) -> None:
        ns_type = self._registry.get(*NAMESPACES)
        assert ns_type is not None
        namespace = self._store.lookup(ns_type, None, name)
        if namespace is None or "deletionTimestamp" not in namespace.metadata:
            return
        remaining = 0
        for rkey in self._store.resources():
            rtype = self._registry.get(*rkey)
            if rtype is None or not rtype.namespaced:
                continue
            for entry in self._store.objects_of(rkey):
                if entry.metadata.get("namespace") != name:
                    continue
                remaining += 1
                if "deletionTimestamp" not in entry.metadata:
                    try:
                        await self._store.delete(
                            rtype,
                            name,
                            entry.metadata["name"],
                            DeleteOptions(propagation="Background"),
                        )
                    except APIError as error:
                        if error.code != 404:
                            raise
        if remaining:
            return
        # The deletions above awaited; write over what is stored now, not what was read.
        namespace = self._store.lookup(ns_type, None, name)
        if namespace is None:
            return
        obj: dict[str, Any] = copy.deepcopy(namespace.obj)
        spec = obj.setdefault("spec", {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != "kubernetes"]
        await self._store.replace_with(
            ns_type, namespace, obj, WriteOptions(field_manager=NAMESPACE_MANAGER)
        )
