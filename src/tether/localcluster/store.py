"""The store: the in-process API every request and every controller goes through.

:class:`Store` holds every object in memory (decoded and as JSON, so reads and lists
never touch SQLite), assigns the global resourceVersion, runs admission, and makes
writes durable with group commit: a write updates the cache at once (so the next
write sees it), joins the current batch, and returns only after the batch's
transaction is fsynced. Events are published to watches in resourceVersion order
after their batch commits, so no watcher ever sees a change that could be lost.

The verbs mirror the HTTP API (``get``, ``list``, ``create``, ``update``, ``patch``,
``delete``, ``delete_collection``, ``watch``) and raise
:class:`~tether.localcluster.errors.APIError` with the status a real server returns.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import contextlib
import copy
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from tether.localcluster import admission
from tether.localcluster.commit import GroupCommit
from tether.localcluster.errors import (
    APIError,
    Cause,
    already_exists,
    bad_request,
    conflict,
    forbidden,
    gone,
    invalid,
    not_found,
    stale,
)
from tether.localcluster.options import Deleted, DeleteOptions, Listed, WriteOptions, Written
from tether.localcluster.registry import Registry
from tether.localcluster.resources import ResourceType
from tether.localcluster.selectors import FieldSelector, LabelSelector
from tether.localcluster.storage import Row, Storage
from tether.localcluster.watch import Entry, Event, Filter, Hub, Watch

log = logging.getLogger(__name__)

NAMESPACES = ("", "namespaces")
#: Namespaces that exist from the start, as on a fresh cluster.
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
#: Namespaces kube-apiserver's lifecycle admission never lets go.
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})

#: The options of a write or delete that asks for nothing special.
DEFAULT_WRITE = WriteOptions()
DEFAULT_DELETE = DeleteOptions()

__all__ = [
    "DEFAULT_DELETE",
    "DEFAULT_WRITE",
    "INITIAL_NAMESPACES",
    "NAMESPACES",
    "Admitter",
    "DeleteOptions",
    "Deleted",
    "Listed",
    "Store",
    "WriteOptions",
    "Written",
    "encode",
    "parse_rv",
    "storage_key",
]

#: A hook run on every admitted write before it is stored: it may change the object
#: or raise APIError. Arguments: resource type, new object, old object (or None),
#: the write's options.
Admitter = Callable[
    [ResourceType, dict[str, Any], "dict[str, Any] | None", "WriteOptions"], list[str]
]


def storage_key(rkey: tuple[str, str], namespace: str, name: str) -> str:
    """The SQLite key of an object."""
    return f"{rkey[0]}/{rkey[1]}/{namespace}/{name}"


def encode(obj: dict[str, Any], rv: int) -> Entry:
    """An :class:`Entry` for ``obj``."""
    return Entry(obj, orjson.dumps(obj), rv)


class Store:
    """Objects in memory, durable in SQLite, with watches and admission."""

    def __init__(
        self,
        data_dir: Path,
        registry: Registry | None = None,
        *,
        event_window: int = 20_000,
        clock: admission.Clock = admission.system_clock,
    ) -> None:
        """Open the store in ``data_dir`` (call :meth:`start` before use)."""
        self.data_dir = data_dir
        self.registry = registry or Registry()
        #: Where timestamps (creation, deletion, managedFields, conditions) come from.
        self.clock = clock
        self._storage = Storage(data_dir / "cluster.db", event_window=event_window)
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Entry]] = {}
        self._uids: dict[str, tuple[tuple[str, str], str, str]] = {}
        self._log: deque[Event] = deque(maxlen=event_window)
        self._hub = Hub()
        self._rv = 0
        #: The highest resourceVersion that is durable and published.
        self.committed_rv = 0
        #: Events at or below this resourceVersion are no longer retained.
        self._compacted_rv = 0
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="tether-store")
        self._group = GroupCommit(self._storage, self._executor, self._publish)
        self._admitters: list[Admitter] = []
        self._listeners: list[Callable[[Event], None]] = []
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Load the database into memory and create the initial namespaces."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._load)
        for ns in INITIAL_NAMESPACES:
            if ("", ns) not in self._objects.get(NAMESPACES, {}):
                ns_type = self.registry.get(*NAMESPACES)
                assert ns_type is not None
                await self.create(
                    ns_type,
                    None,
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                )

    def _load(self) -> None:
        self._rv = self.committed_rv = self._storage.resource_version()
        for key, data in self._storage.objects():
            group, plural, namespace, name = key.split("/", 3)
            obj = orjson.loads(data)
            rv = int(obj["metadata"]["resourceVersion"])
            self._put((group, plural), namespace, name, Entry(obj, bytes(data), rv))
        first = None
        for rv, kind, key, data in self._storage.events():
            group, plural, namespace, name = key.split("/", 3)
            obj = orjson.loads(data)
            self._log.append(
                Event(kind, rv, (group, plural), namespace, name, Entry(obj, bytes(data), rv))
            )
            first = rv if first is None else first
        self._compacted_rv = (first - 1) if first is not None else self._rv

    async def close(self) -> None:
        """Finish pending writes, end every watch and close the database."""
        if self._closed:
            return
        self._closed = True
        await self._group.drain()
        self._hub.close_all()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._storage.close)
        self._executor.shutdown(wait=True)

    def open_watches(self) -> int:
        """How many watches (HTTP and in-process) are open."""
        return self._hub.count()

    def timestamp(self, offset_seconds: int = 0) -> str:
        """The clock's time (plus an offset) in Kubernetes' timestamp format."""
        return admission.timestamp(self.clock(), offset_seconds)

    def end_watches(self) -> None:
        """End every open watch (the server is shutting down; clients re-watch)."""
        self._hub.close_all()

    def add_admitter(self, admitter: Admitter) -> None:
        """Run ``admitter`` on every write (schema validation, CRD rules)."""
        self._admitters.append(admitter)

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with every committed event, before the write is acknowledged.

        Listeners run synchronously in commit order and must be quick: controllers use
        them to mark work (and the CRD controller to serve new kinds before the client
        that created the definition hears back).
        """
        self._listeners.append(listener)

    # -- reads ---------------------------------------------------------------------

    def lookup(self, rtype: ResourceType, namespace: str | None, name: str) -> Entry | None:
        """The stored object, or ``None``."""
        return self._objects.get(rtype.key, {}).get((namespace or "", name))

    async def get(self, rtype: ResourceType, namespace: str | None, name: str) -> Entry:
        """The stored object; 404 if absent."""
        entry = self.lookup(rtype, namespace, name)
        if entry is None:
            raise not_found(rtype.ref, name)
        return entry

    def list(
        self,
        rtype: ResourceType,
        namespace: str | None = None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        *,
        limit: int = 0,
        continue_token: str = "",
    ) -> Listed:
        """Objects of ``rtype`` (in ``namespace``, if given), sorted by namespace and name."""
        objects = self._objects.get(rtype.key, {})
        start = _decode_continue(continue_token) if continue_token else None
        name = fields.name() if fields else None
        if name is not None and namespace:
            entry = objects.get((namespace, name))
            keys = [(namespace, name)] if entry is not None else []
        else:
            keys = sorted(objects)
        if namespace:
            keys = [k for k in keys if k[0] == namespace]
        if start is not None:
            keys = [k for k in keys if k > start]
        result: list[Entry] = []
        token = ""
        remaining: int | None = None
        check_labels = labels is not None and not labels.empty
        check_fields = fields is not None and bool(fields.clauses)
        for index, key in enumerate(keys):
            entry = objects[key]
            if check_labels and not labels.matches(entry.metadata.get("labels")):  # type: ignore[union-attr]
                continue
            if check_fields and not fields.matches(entry.obj):  # type: ignore[union-attr]
                continue
            result.append(entry)
            if limit and len(result) >= limit:
                if index + 1 < len(keys):
                    token = _encode_continue(key, self._rv)
                    remaining = len(keys) - index - 1
                break
        return Listed(result, self._rv, token, remaining)

    def resource_version(self) -> int:
        """The newest resourceVersion handed out."""
        return self._rv

    # -- watches -------------------------------------------------------------------

    def watch(
        self,
        rtype: ResourceType | None,
        namespace: str | None = None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        *,
        resource_version: str | None = None,
        initial_events: bool | None = None,
    ) -> tuple[builtins.list[Event], Watch]:
        """Subscribe to changes; returns the events to send first and the live watch.

        With no ``resource_version`` (or ``"0"``), or with ``initial_events``, the
        first events are synthetic ``ADDED`` events for the current objects. With a
        resourceVersion, the retained log is replayed from it; 410 if it is older than
        the log.
        """
        flt = Filter(
            rtype.key if rtype else None,
            namespace,
            labels or LabelSelector(),
            fields or FieldSelector(),
        )
        if initial_events or not resource_version or resource_version == "0":
            since = self._rv
            first = (
                []
                if rtype is None
                else [
                    Event(
                        "ADDED",
                        e.rv,
                        rtype.key,
                        e.metadata.get("namespace", ""),
                        e.metadata["name"],
                        e,
                    )
                    for e in self.list(rtype, namespace, labels, fields).entries
                ]
            )
            return first, self._hub.subscribe(flt, since)
        since = parse_rv(resource_version)
        if since < self._compacted_rv:
            raise gone(f"too old resource version: {since} ({self._compacted_rv + 1})")
        replay = [
            e
            for e in self._log
            if e.rv > since and (rtype is None or e.resource == rtype.key) and flt.matches(e)
        ]
        last = max(since, self.committed_rv)
        return replay, self._hub.subscribe(flt, last)

    # -- writes --------------------------------------------------------------------

    async def create(
        self,
        rtype: ResourceType,
        namespace: str | None,
        obj: dict[str, Any],
        options: WriteOptions = DEFAULT_WRITE,
        *,
        version: str | None = None,
    ) -> Written:
        """Create ``obj`` (which the store takes ownership of)."""
        admission.check_type(rtype, obj, version or rtype.version)
        admission.place(rtype, obj, namespace)
        name = admission.name_for_create(rtype, obj)
        ns = obj["metadata"].get("namespace", "") if rtype.namespaced else ""
        if rtype.namespaced:
            self._check_namespace(rtype, ns, name)
        if (ns, name) in self._objects.get(rtype.key, {}):
            raise already_exists(rtype.ref, name)
        admission.keep_status(rtype, obj, None)
        admission.prepare(rtype, obj, None)
        admission.validate(rtype, obj, name)
        admission.stamp_new(rtype, obj, self.timestamp())
        warnings = self._admit(rtype, obj, None, options)
        # Admitted at the version the client wrote; stored at the storage version.
        obj["apiVersion"] = rtype.api_version()
        if options.dry_run:
            return Written(encode(obj, 0), True, warnings)
        entry = await self._commit(rtype, ns, name, obj, "ADDED")
        return Written(entry, True, warnings)

    async def update(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        obj: dict[str, Any],
        options: WriteOptions = DEFAULT_WRITE,
        *,
        version: str | None = None,
    ) -> Written:
        """Replace the object (or its status, with ``options.subresource``)."""
        admission.check_type(rtype, obj, version or rtype.version)
        admission.place(rtype, obj, namespace)
        body_name = obj["metadata"].get("name")
        if body_name and body_name != name:
            raise bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        obj["metadata"]["name"] = name
        current = await self.get(rtype, namespace, name)
        return await self._replace(rtype, current, obj, options)

    async def _replace(
        self,
        rtype: ResourceType,
        current: Entry,
        obj: dict[str, Any],
        options: WriteOptions,
        *,
        managed: bool = False,
    ) -> Written:
        """Admit ``obj`` as the new state of ``current`` and store it."""
        old = current.obj
        name = old["metadata"]["name"]
        ns = old["metadata"].get("namespace", "")
        rv = obj["metadata"].get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise stale(rtype.ref, name)
        if not rv and rtype.custom and not managed:
            raise invalid(
                rtype.kind,
                rtype.group,
                name,
                [
                    Cause(
                        "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update",
                        "FieldValueInvalid",
                    )
                ],
            )
        if options.subresource == "status":
            obj = admission.status_only(obj, old)
        else:
            admission.keep_status(rtype, obj, old)
        admission.prepare(rtype, obj, old)
        admission.validate(rtype, obj, name)
        admission.carry_over(rtype, obj, old)
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        warnings = self._admit(rtype, obj, old, options)
        obj["apiVersion"] = rtype.api_version()
        if (
            "deletionTimestamp" in old["metadata"]
            and not old["metadata"].get("deletionGracePeriodSeconds")
            and not admission.holding_finalizers(rtype, obj)
        ):
            if options.dry_run:
                return Written(encode(obj, current.rv), False, warnings)
            entry = await self._commit(rtype, ns, name, obj, "DELETED")
            return Written(entry, False, warnings)
        if admission.unchanged(obj, old):
            return Written(current, False, warnings)
        if options.dry_run:
            return Written(encode(obj, current.rv), False, warnings)
        entry = await self._commit(rtype, ns, name, obj, "MODIFIED")
        return Written(entry, False, warnings)

    async def replace_with(
        self,
        rtype: ResourceType,
        current: Entry,
        obj: dict[str, Any],
        options: WriteOptions,
    ) -> Written:
        """Store ``obj``, computed from ``current`` by a patch or apply, as its new state.

        ``current`` must still be the stored object: if it was changed or deleted since it
        was read, the write fails with 409 (or 404) and the caller recomputes, exactly as
        an update with a resourceVersion precondition.
        """
        name = current.metadata["name"]
        stored = self.lookup(rtype, current.metadata.get("namespace"), name)
        if stored is None:
            raise not_found(rtype.ref, name)
        if stored.rv != current.rv:
            raise stale(rtype.ref, name)
        admission.check_type(rtype, obj, rtype.version)
        meta = admission.metadata_of(obj)
        meta["name"] = name
        if rtype.namespaced:
            meta["namespace"] = current.metadata.get("namespace", "")
        return await self._replace(rtype, current, obj, options, managed=True)

    def _admit(
        self,
        rtype: ResourceType,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        options: WriteOptions,
    ) -> tuple[str, ...]:
        warnings: list[str] = []
        for admitter in self._admitters:
            warnings.extend(admitter(rtype, obj, old, options))
        return tuple(warnings)

    def _check_namespace(self, rtype: ResourceType, namespace: str, name: str) -> None:
        ns = self._objects.get(NAMESPACES, {}).get(("", namespace))
        if ns is None:
            raise not_found(self.registry.get(*NAMESPACES).ref, namespace)  # type: ignore[union-attr]
        if "deletionTimestamp" in ns.metadata:
            raise forbidden(
                rtype.ref,
                name,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
            )

    async def delete(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        options: DeleteOptions = DEFAULT_DELETE,
    ) -> Deleted:
        """Delete the object, or mark it for deletion while finalizers remain."""
        current = await self.get(rtype, namespace, name)
        if rtype.key == NAMESPACES and name in IMMORTAL_NAMESPACES:
            raise forbidden(rtype.ref, name, "this namespace may not be deleted")
        meta = current.metadata
        if options.uid and options.uid != meta.get("uid"):
            raise conflict(
                rtype.ref,
                name,
                f"Precondition failed: UID in precondition: "
                f"{options.uid}, UID in object meta: {meta.get('uid')}",
            )
        if options.resource_version and options.resource_version != meta["resourceVersion"]:
            raise conflict(
                rtype.ref,
                name,
                "Precondition failed: ResourceVersion in "
                f"precondition: {options.resource_version}, ResourceVersion in "
                f"object meta: {meta['resourceVersion']}",
            )
        finalizers = list(meta.get("finalizers") or [])
        if options.propagation not in (None, "Background", "Foreground", "Orphan"):
            raise invalid(
                "DeleteOptions",
                "",
                "",
                [
                    Cause(
                        "propagationPolicy",
                        f'Unsupported value: "{options.propagation}": supported '
                        'values: "Foreground", "Background", "Orphan", "nil"',
                        "FieldValueNotSupported",
                    )
                ],
            )
        extra = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(
            options.propagation or ""
        )
        if extra and extra not in finalizers:
            finalizers = [f for f in finalizers if f not in ("foregroundDeletion", "orphan")]
            finalizers.append(extra)
        grace = admission.grace_period(rtype, current.obj, options.grace_period_seconds)
        pending = (
            bool(finalizers) or bool(admission.holding_finalizers(rtype, current.obj)) or grace > 0
        )
        ns = meta.get("namespace", "")
        if not pending:
            if options.dry_run:
                return Deleted(current, True)
            entry = await self._commit(rtype, ns, name, copy.deepcopy(current.obj), "DELETED")
            return Deleted(entry, True)
        obj = copy.deepcopy(current.obj)
        new_meta = obj["metadata"]
        if finalizers:
            new_meta["finalizers"] = finalizers
        if "deletionTimestamp" not in new_meta or grace < new_meta.get(
            "deletionGracePeriodSeconds", 0
        ):
            # A shorter grace period may replace a longer one, never the reverse.
            new_meta["deletionTimestamp"] = self.timestamp(grace)
            new_meta["deletionGracePeriodSeconds"] = grace
        if rtype.key == NAMESPACES:
            obj.setdefault("status", {})["phase"] = "Terminating"
        if admission.unchanged(obj, current.obj):
            return Deleted(current, False)
        if options.dry_run:
            return Deleted(encode(obj, current.rv), False)
        entry = await self._commit(rtype, ns, name, obj, "MODIFIED")
        return Deleted(entry, False)

    async def delete_collection(
        self,
        rtype: ResourceType,
        namespace: str | None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        options: DeleteOptions = DEFAULT_DELETE,
    ) -> builtins.list[Entry]:
        """Delete every selected object; returns them as deleted (or marked)."""
        listed = self.list(rtype, namespace, labels, fields)
        results = []
        for entry in listed.entries:
            with contextlib.suppress(APIError):
                deleted = await self.delete(
                    rtype, entry.metadata.get("namespace"), entry.metadata["name"], options
                )
                results.append(deleted.entry)
        return results

    # -- commit --------------------------------------------------------------------

    def _put(self, rkey: tuple[str, str], namespace: str, name: str, entry: Entry) -> None:
        bucket = self._objects.setdefault(rkey, {})
        old = bucket.get((namespace, name))
        if old is not None:
            self._uids.pop(old.metadata.get("uid", ""), None)
        bucket[(namespace, name)] = entry
        uid = entry.metadata.get("uid")
        if uid:
            self._uids[uid] = (rkey, namespace, name)

    def _remove(self, rkey: tuple[str, str], namespace: str, name: str) -> None:
        old = self._objects.get(rkey, {}).pop((namespace, name), None)
        if old is not None:
            self._uids.pop(old.metadata.get("uid", ""), None)

    def by_uid(self, uid: str) -> tuple[tuple[str, str], str, str] | None:
        """Where the object with ``uid`` is stored (resource, namespace, name), if it is."""
        return self._uids.get(uid)

    def objects_of(self, rkey: tuple[str, str]) -> Iterable[Entry]:
        """Every stored object of a resource (a snapshot)."""
        return list(self._objects.get(rkey, {}).values())

    def resources(self) -> builtins.list[tuple[str, str]]:
        """Every resource with stored objects."""
        return [k for k, v in self._objects.items() if v]

    def _commit(
        self, rtype: ResourceType, namespace: str, name: str, obj: dict[str, Any], kind: str
    ) -> Awaitable[Entry]:
        """Assign the next resourceVersion, update the cache, join the batch."""
        if self._closed:
            raise APIError(503, "ServiceUnavailable", "the store is shutting down")
        self._rv += 1
        rv = self._rv
        obj["metadata"]["resourceVersion"] = str(rv)
        entry = encode(obj, rv)
        if kind == "DELETED":
            self._remove(rtype.key, namespace, name)
        else:
            self._put(rtype.key, namespace, name, entry)
        key = storage_key(rtype.key, namespace, name)
        durable = self._group.add(
            Row(key, rv, kind, entry.raw, kind == "DELETED"),
            Event(kind, rv, rtype.key, namespace, name, entry),
        )
        return _after(durable, entry)

    def _publish(self, event: Event) -> None:
        """A committed event: log it, tell the listeners, then the watches."""
        self._log.append(event)
        if len(self._log) == self._log.maxlen:
            self._compacted_rv = self._log[0].rv - 1
        self.committed_rv = event.rv
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed on %s %s", event.type, event.name)
        self._hub.publish(event)


async def _after(future: asyncio.Future[None], entry: Entry) -> Entry:
    await future
    return entry


def parse_rv(text: str) -> int:
    """A resourceVersion from a request; 400 if it is not a number."""
    try:
        return int(text)
    except ValueError:
        raise bad_request(f'Invalid value: "{text}": invalid resource version') from None


def _encode_continue(key: tuple[str, str], rv: int) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(key)})
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[str, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        return (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, IndexError, TypeError):
        raise bad_request("continue key is not valid: incorrect encoded start key") from None
