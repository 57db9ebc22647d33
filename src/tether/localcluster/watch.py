"""Change events and watches over the store.

An :class:`Event` is one committed change (``ADDED``, ``MODIFIED``, ``DELETED``) with
the object's stored JSON, shared by every watcher: nothing is copied per watcher. A
:class:`Watch` is a filtered subscription with its own queue; it is cheap enough that
in-process controllers use one per resource type. A watcher that falls too far behind
is closed (the client re-watches from its last resourceVersion, as with a real server).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tether.localcluster.selectors import FieldSelector, LabelSelector


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored object: the decoded value (never mutated) and its JSON."""

    obj: dict[str, Any]
    raw: bytes
    rv: int

    @property
    def metadata(self) -> dict[str, Any]:
        """The object's metadata."""
        meta: dict[str, Any] = self.obj["metadata"]
        return meta


@dataclass(frozen=True, slots=True)
class Event:
    """One committed change to one object."""

    type: str
    rv: int
    resource: tuple[str, str]
    namespace: str
    name: str
    entry: Entry


@dataclass(frozen=True, slots=True)
class Filter:
    """Which events a watch wants."""

    resource: tuple[str, str] | None
    namespace: str | None = None
    labels: LabelSelector = field(default_factory=LabelSelector)
    fields: FieldSelector = field(default_factory=FieldSelector)

    def matches(self, event: Event) -> bool:
        """Whether ``event`` passes the filter."""
        if self.namespace and event.namespace != self.namespace:
            return False
        if not self.labels.empty and not self.labels.matches(event.entry.metadata.get("labels")):
            return False
        return not self.fields.clauses or self.fields.matches(event.entry.obj)


class WatchClosed(Exception):
    """The watch ended: the store closed or the watcher fell too far behind."""


class Watch:
    """A subscription to the events that match a :class:`Filter`.

    Iterate with ``async for`` or call :meth:`next` with a timeout. Events come in
    resourceVersion order, none at or below :attr:`since`.
    """

    def __init__(
        self,
        flt: Filter,
        since: int,
        unsubscribe: Callable[[Watch], None],
        *,
        limit: int = 50_000,
    ) -> None:
        """Watch events matching ``flt`` with a resourceVersion above ``since``."""
        self.filter = flt
        self.since = since
        self._queue: deque[Event] = deque()
        self._limit = limit
        self._waiter: asyncio.Future[None] | None = None
        self._unsubscribe = unsubscribe
        self.closed = False
        #: Why the watch closed, if it did ("overflow", "closed").
        self.reason = ""

    def push(self, event: Event) -> None:
        """Queue ``event`` if it matches (called by the store for every commit)."""
        if self.closed or event.rv <= self.since or not self.filter.matches(event):
            return
        self._queue.append(event)
        if len(self._queue) > self._limit:
            self.close("overflow")
            return
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next(self, wait: float | None = None) -> Event | None:
        """The next event; ``None`` after ``wait`` seconds without one."""
        while not self._queue:
            if self.closed:
                raise WatchClosed(self.reason)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._waiter), wait)
            except TimeoutError:
                return None
        return self._queue.popleft()

    def pending(self) -> int:
        """How many events are queued."""
        return len(self._queue)

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> Event:
        try:
            event = await self.next()
        except WatchClosed:
            raise StopAsyncIteration from None
        assert event is not None
        return event

    def close(self, reason: str = "closed") -> None:
        """Stop the watch; a waiting :meth:`next` raises :class:`WatchClosed`."""
        if self.closed:
            return
        self.closed = True
        self.reason = reason
        self._unsubscribe(self)
        self._wake()

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class Hub:
    """Fans committed events out to the watches that want them."""

    def __init__(self) -> None:
        self._by_resource: dict[tuple[str, str] | None, set[Watch]] = {}

    def subscribe(self, flt: Filter, since: int) -> Watch:
        """A new watch for events after ``since``."""
        watch = Watch(flt, since, self._drop)
        self._by_resource.setdefault(flt.resource, set()).add(watch)
        return watch

    def _drop(self, watch: Watch) -> None:
        watchers = self._by_resource.get(watch.filter.resource)
        if watchers is not None:
            watchers.discard(watch)

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every interested watch."""
        for key in (event.resource, None):
            watchers = self._by_resource.get(key)
            if watchers:
                for watch in list(watchers):
                    watch.push(event)

    def count(self) -> int:
        """How many watches are open."""
        return sum(len(w) for w in self._by_resource.values())

    def close_all(self) -> None:
        """End every watch (the store is shutting down)."""
        for watchers in list(self._by_resource.values()):
            for watch in list(watchers):
                watch.close()
