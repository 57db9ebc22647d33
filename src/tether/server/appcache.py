"""A watch-backed copy of the Applications in the control namespace.

Listing pages, the metrics collector and the event stream read this copy instead of
listing from the cluster on every request (as Argo CD's server reads its informer).
It lists once, then follows a watch from the list's resourceVersion, relisting after
``410 Gone`` or a dropped connection with a bounded back-off. Writes made through this
server are folded in at once (:meth:`observe`), so a client sees its own change in the
next list even before the watch delivers it. The contents are kept sorted by name, and
in any other order a list asks for (:meth:`ordered`), until the next change. Subscribers
(the SSE stream) receive each change through a bounded queue; one too slow to keep up
is dropped, never waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.kube import Gone, KubeClient, KubeError
from tether.model import API_VERSION

log = logging.getLogger(__name__)

#: Changes buffered per subscriber before it is dropped.
SUBSCRIBER_BUFFER = 1000


@dataclass(frozen=True, slots=True)
class Change:
    """One change of an Application: ``ADDED``, ``MODIFIED`` or ``DELETED``."""

    type: str
    object: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Ordered:
    """The cached Applications in one order, with the key each item sorted by."""

    keys: Sequence[Any]
    items: Sequence[Mapping[str, Any]]

    def after(self, key: Any | None) -> Iterator[Mapping[str, Any]]:
        """The items whose key is greater than ``key`` (every item when it is ``None``)."""
        start = 0 if key is None else bisect_right(self.keys, key)
        return itertools.islice(self.items, start, None)


def _version(obj: Mapping[str, Any]) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


class ApplicationCache:
    """The Applications of one namespace, kept current by a watch."""

    def __init__(self, client: KubeClient, namespace: str, kind: str = "Application") -> None:
        self.client = client
        self.namespace = namespace
        self.kind = kind
        self._items: dict[str, Mapping[str, Any]] = {}
        self._sorted: list[Mapping[str, Any]] | None = None
        self._orders: dict[Hashable, Ordered] = {}
        #: Incremented on every change of the contents (keys cached pages).
        self.version = 0
        self.resource_version = ""
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._subscribers: set[asyncio.Queue[Change | None]] = set()
        #: Called with every change, in order, before subscribers see it (metrics).
        self.listeners: list[Callable[[Change, bool], None]] = []

    async def start(self) -> None:
        """List and start following changes; returns once the first list is in."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"{self.kind} cache")
        await self._synced.wait()

    async def close(self) -> None:
        """Stop following changes and end every subscription."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for queue in list(self._subscribers):
            queue.put_nowait(None)

    def items(self) -> list[Mapping[str, Any]]:
        """Every Application, sorted by name (the sorted list is kept until a change)."""
        if self._sorted is None:
            self._sorted = [self._items[name] for name in sorted(self._items)]
        return self._sorted

    def ordered(self, order: Hashable, key: Callable[[Mapping[str, Any]], Any]) -> Ordered:
        """Every Application sorted by ``key``, kept under ``order`` until the next change.

        Lists in other orders than by name reuse this, so a sort over every app is paid
        once per change of the contents, not once per request.
        """
        ordered = self._orders.get(order)
        if ordered is None:
            pairs = sorted(((key(obj), obj) for obj in self.items()), key=lambda p: p[0])
            ordered = Ordered([k for k, _ in pairs], [obj for _, obj in pairs])
            self._orders[order] = ordered
        return ordered

    def get(self, name: str) -> Mapping[str, Any] | None:
        """One Application by name."""
        return self._items.get(name)

    def observe(self, obj: Mapping[str, Any], *, deleted: bool = False) -> None:
        """Fold in an object this server just wrote (ignored when older than the copy)."""
        name = str((obj.get("metadata") or {}).get("name", ""))
        current = self._items.get(name)
        if current is not None and _version(current) > _version(obj):
            return
        self._apply(Change("DELETED" if deleted else "ADDED", obj))

    def _apply(self, change: Change) -> None:
        name = str((change.object.get("metadata") or {}).get("name", ""))
        existed = name in self._items
        if change.type == "DELETED":
            if self._items.pop(name, None) is None:
                return
        else:
            current = self._items.get(name)
            if current is not None and _version(current) >= _version(change.object):
                return
            self._items[name] = change.object
            change = Change("MODIFIED" if existed else "ADDED", change.object)
        self._sorted = None
        self._orders.clear()
        self.version += 1
        for listener in self.listeners:
            listener(change, self._synced.is_set())
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(change)
            except asyncio.QueueFull:
                # Too slow: end its stream (it can reconnect) instead of buffering more.
                self._subscribers.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[Change | None]]:
        """A queue of every change from now on.

        ``None`` in it ends the subscription: the cache closed, or the subscriber fell
        :data:`SUBSCRIBER_BUFFER` changes behind.
        """
        queue: asyncio.Queue[Change | None] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                listed = await self.client.list(API_VERSION, self.kind, self.namespace)
                fresh = {str(o["metadata"]["name"]): o for o in listed.items}
                for name in set(self._items) - set(fresh):
                    self._apply(Change("DELETED", self._items[name]))
                for obj in fresh.values():
                    self._apply(Change("ADDED", obj))
                self.resource_version = listed.resource_version
                self._synced.set()
                delay = 0.1
                async for event in self.client.watch(
                    API_VERSION,
                    self.kind,
                    self.namespace,
                    resource_version=self.resource_version,
                ):
                    version = (event.object.get("metadata") or {}).get("resourceVersion")
                    if version:
                        self.resource_version = str(version)
                    if event.type in ("ADDED", "MODIFIED", "DELETED"):
                        self._apply(Change(event.type, event.object))
            except Gone:
                continue
            except KubeError as error:
                log.warning("%s cache: %s; retrying in %.1fs", self.kind, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
