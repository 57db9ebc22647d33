"""What every simulated controller shares: the store, the kinds, the clock, the writes.

:class:`Context` gives controllers the resource types they work on, the clock and
timers, the simulation's settings and live failure rules, and the few write verbs
they use. Every write goes through the store's admission path with the field manager
of the component a real cluster would name (``kube-controller-manager``,
``kubelet``); status is written through the status subresource, so a controller never
touches a spec field by accident and clients see the managedFields they expect.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tether.localcluster.errors import APIError
from tether.localcluster.registry import Registry
from tether.localcluster.resources import ResourceType
from tether.localcluster.selectors import selector_from_match
from tether.localcluster.simulation.clock import Clock, Timers, format_time
from tether.localcluster.simulation.events import Recorder
from tether.localcluster.simulation.failures import FailureRules
from tether.localcluster.simulation.settings import Settings
from tether.localcluster.store import DeleteOptions, Store, WriteOptions
from tether.localcluster.watch import Entry

log = logging.getLogger(__name__)

Obj = dict[str, Any]

#: The field manager of controller writes on a real cluster.
CONTROLLER_MANAGER = "kube-controller-manager"
#: The field manager of Pod status writes on a real cluster.
KUBELET = "kubelet"


@dataclass(frozen=True)
class Kinds:
    """The resource types the simulation reads and writes."""

    pods: ResourceType
    nodes: ResourceType
    services: ResourceType
    endpoints: ResourceType
    endpointslices: ResourceType
    configmaps: ResourceType
    events: ResourceType
    deployments: ResourceType
    replicasets: ResourceType
    statefulsets: ResourceType
    daemonsets: ResourceType
    controllerrevisions: ResourceType
    jobs: ResourceType
    cronjobs: ResourceType
    pvcs: ResourceType
    pvs: ResourceType
    storageclasses: ResourceType
    ingresses: ResourceType
    hpas: ResourceType

    @classmethod
    def of(cls, registry: Registry) -> Kinds:
        """The built-in types of ``registry``."""

        def get(group: str, plural: str) -> ResourceType:
            found = registry.get(group, plural)
            if found is None:
                raise LookupError(f"the registry does not serve {plural}.{group}")
            return found

        return cls(
            pods=get("", "pods"),
            nodes=get("", "nodes"),
            services=get("", "services"),
            endpoints=get("", "endpoints"),
            endpointslices=get("discovery.k8s.io", "endpointslices"),
            configmaps=get("", "configmaps"),
            events=get("", "events"),
            deployments=get("apps", "deployments"),
            replicasets=get("apps", "replicasets"),
            statefulsets=get("apps", "statefulsets"),
            daemonsets=get("apps", "daemonsets"),
            controllerrevisions=get("apps", "controllerrevisions"),
            jobs=get("batch", "jobs"),
            cronjobs=get("batch", "cronjobs"),
            pvcs=get("", "persistentvolumeclaims"),
            pvs=get("", "persistentvolumes"),
            storageclasses=get("storage.k8s.io", "storageclasses"),
            ingresses=get("networking.k8s.io", "ingresses"),
            hpas=get("autoscaling", "horizontalpodautoscalers"),
        )


ObjectKey = tuple[tuple[str, str], str, str]


class Ownership:
    """Which objects each controller uid controls, kept from store events.

    Controllers ask for the Pods of a ReplicaSet or the ReplicaSets of a Deployment on
    every reconcile; an index makes that a lookup instead of a scan of the namespace.
    """

    def __init__(self) -> None:
        """An empty index; :meth:`index` fills it."""
        self._children: dict[str, set[ObjectKey]] = {}
        self._owner: dict[ObjectKey, str] = {}
        self._orphans: dict[tuple[str, str], set[ObjectKey]] = {}

    def index(self, key: ObjectKey, entry: Entry | None) -> None:
        """Record ``entry`` (``None``: deleted) as stored under ``key``."""
        uid = None if entry is None else controller_uid(entry.metadata)
        orphans = self._orphans.setdefault(key[0], set())
        if entry is not None and uid is None:
            orphans.add(key)
        else:
            orphans.discard(key)
        old = self._owner.get(key)
        if old == uid:
            return
        if old is not None:
            children = self._children.get(old)
            if children is not None:
                children.discard(key)
                if not children:
                    del self._children[old]
            del self._owner[key]
        if uid is not None:
            self._owner[key] = uid
            self._children.setdefault(uid, set()).add(key)

    def orphans(self, rkey: tuple[str, str], namespace: str) -> list[ObjectKey]:
        """The keys of ``rkey`` objects in ``namespace`` that no controller controls."""
        return sorted(k for k in self._orphans.get(rkey, ()) if k[1] == namespace)

    def children(self, uid: str, rkey: tuple[str, str], namespace: str) -> list[ObjectKey]:
        """The keys of ``rkey`` objects in ``namespace`` that ``uid`` controls, by name."""
        return sorted(k for k in self._children.get(uid, ()) if k[0] == rkey and k[1] == namespace)


class Context:
    """The store, kinds, clock, timers, settings and failure rules of one simulation."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        clock: Clock,
        settings: Settings,
        rules: Callable[[], FailureRules],
    ) -> None:
        """Share ``store`` and the rest among the controllers."""
        self.store = store
        self.kinds = Kinds.of(registry)
        self.clock = clock
        self.timers = Timers(clock)
        self.settings = settings
        self._rules = rules
        self.ownership = Ownership()
        self.recorder = Recorder(self)

    def index_all(self) -> None:
        """Index the ownership of every stored object (at start)."""
        for rkey in self.store.resources():
            for entry in self.store.objects_of(rkey):
                key = (rkey, entry.metadata.get("namespace", ""), entry.metadata["name"])
                self.ownership.index(key, entry)

    @property
    def rules(self) -> FailureRules:
        """The failure rules in force now (the ConfigMap is read live)."""
        return self._rules()

    def now(self) -> datetime:
        """The clock's time."""
        return self.clock.now()

    def timestamp(self) -> str:
        """The clock's time as a stored timestamp."""
        return format_time(self.clock.now())

    # -- reads ---------------------------------------------------------------------

    def get(self, rtype: ResourceType, namespace: str, name: str) -> Entry | None:
        """The stored object, or ``None`` (also while it is being deleted)."""
        entry = self.store.lookup(rtype, namespace, name)
        if entry is None or "deletionTimestamp" in entry.metadata:
            return None
        return entry

    def owned(self, rtype: ResourceType, namespace: str, owner_uid: str) -> list[Entry]:
        """Objects of ``rtype`` in ``namespace`` whose controller is ``owner_uid``, by name."""
        found = []
        for _, ns, name in self.ownership.children(owner_uid, rtype.key, namespace):
            entry = self.store.lookup(rtype, ns, name)
            if entry is not None:
                found.append(entry)
        return found

    async def adopt(self, rtype: ResourceType, owner: Entry, selector: Obj) -> None:
        """Make ``owner`` the controller of orphans of ``rtype`` its ``selector`` matches.

        As the controllers' ref managers do: an object left without a controller (its
        owner deleted with ``propagationPolicy: Orphan``) is taken over by the next
        controller whose selector matches it.
        """
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            return
        match = selector_from_match(selector)
        namespace = owner.metadata.get("namespace", "")
        for _, ns, name in self.ownership.orphans(rtype.key, namespace):
            orphan = self.get(rtype, ns, name)
            if orphan is None or not match.matches(orphan.metadata.get("labels")):
                continue

            def take(obj: Obj) -> None:
                refs = [
                    r for r in obj["metadata"].get("ownerReferences") or [] if isinstance(r, dict)
                ]
                obj["metadata"]["ownerReferences"] = [*refs, controller_ref(owner)]

            await self.update(rtype, orphan, take)

    def owner_of(self, entry: Entry) -> tuple[tuple[str, str], str, str] | None:
        """Where ``entry``'s controller is stored, if it still is."""
        uid = controller_uid(entry.metadata)
        return None if uid is None else self.store.by_uid(uid)

    # -- writes --------------------------------------------------------------------

    async def create(
        self, rtype: ResourceType, namespace: str, obj: Obj, manager: str = CONTROLLER_MANAGER
    ) -> Entry | None:
        """Create ``obj``; ``None`` if the name is taken (an earlier run made it)."""
        try:
            written = await self.store.create(
                rtype, namespace or None, obj, WriteOptions(field_manager=manager)
            )
        except APIError as error:
            if error.code == 409:
                return None
            raise
        return written.entry

    async def update(
        self,
        rtype: ResourceType,
        current: Entry,
        change: Callable[[Obj], None],
        manager: str = CONTROLLER_MANAGER,
    ) -> Entry:
        """Write ``current`` as changed by ``change`` (a no-op if nothing changes)."""
        obj = copy.deepcopy(current.obj)
        change(obj)
        written = await self.store.replace_with(
            rtype, current, obj, WriteOptions(field_manager=manager)
        )
        return written.entry

    async def write_status(
        self, rtype: ResourceType, current: Entry, status: Obj, manager: str = CONTROLLER_MANAGER
    ) -> Entry:
        """Write ``status`` through the status subresource, if it differs."""
        if current.obj.get("status") == status:
            return current
        obj = {**current.obj, "metadata": dict(current.metadata), "status": status}
        written = await self.store.replace_with(
            rtype, current, obj, WriteOptions(field_manager=manager, subresource="status")
        )
        return written.entry

    async def delete(
        self, rtype: ResourceType, entry: Entry, propagation: str = "Background"
    ) -> None:
        """Delete ``entry`` (gone already is fine)."""
        try:
            await self.store.delete(
                rtype,
                entry.metadata.get("namespace") or None,
                entry.metadata["name"],
                DeleteOptions(propagation=propagation, uid=entry.metadata.get("uid")),
            )
        except APIError as error:
            if error.code not in (404, 409):
                raise


def controller_uid(meta: Obj) -> str | None:
    """The uid of the controller among ``meta``'s owner references."""
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller"):
            uid = ref.get("uid")
            return str(uid) if uid else None
    return None


def controller_ref(owner: Entry) -> Obj:
    """An owner reference making ``owner`` the controller of a new object."""
    return {
        "apiVersion": owner.obj["apiVersion"],
        "kind": owner.obj["kind"],
        "name": owner.metadata["name"],
        "uid": owner.metadata["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def condition(type_: str, status: str, reason: str, message: str, since: str, **extra: str) -> Obj:
    """A condition object in the API's field order."""
    return {
        "type": type_,
        "status": status,
        **extra,
        "lastTransitionTime": since,
        "reason": reason,
        "message": message,
    }


def set_condition(conditions: list[Obj], new: Obj) -> list[Obj]:
    """``conditions`` with ``new`` in place of its type.

    The transition time of a condition whose status does not change is kept.
    """
    result = []
    found = False
    for old in conditions:
        if old.get("type") != new["type"]:
            result.append(old)
            continue
        found = True
        if old.get("status") == new["status"]:
            new = {
                **new,
                "lastTransitionTime": old.get("lastTransitionTime", new["lastTransitionTime"]),
            }
        result.append(new)
    if not found:
        result.append(new)
    return result


def find_condition(obj: Obj, type_: str) -> Obj | None:
    """The condition of ``type_`` in ``obj['status']``."""
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return None


def drop_zeros(status: Obj, keys: Iterable[str]) -> Obj:
    """``status`` without the integer fields the API omits when zero."""
    return {k: v for k, v in status.items() if not (k in keys and v == 0)}


def reversed_key(text: str) -> str:
    """A sort key that orders strings in reverse (newest timestamps first)."""
    return "".join(chr(0x10FFFF - ord(ch)) for ch in text)
