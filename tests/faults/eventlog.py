"""What happened in a cluster while a fault was injected: a watch that survives the fault.

:class:`EventLog` watches a few kinds in every namespace and keeps every event it saw,
in order, as :class:`Seen` values. A watch that breaks (the controller killed the
connection, the cluster was ``kill -9``-ed) is resumed from the last resourceVersion it
saw, so no event is missed and none is seen twice; only a ``410 Gone`` (the server no
longer holds the events in between) loses events, and then :attr:`EventLog.gaps` says so.

Fault tests read the log to state what must hold: which objects were created (a hook
created twice has two uids), which were deleted (exactly the pruned ones), and, through
the cluster's global resourceVersion order, what the cluster held when an Application's
status said something. :meth:`EventLog.wait_for` is how a test waits for a moment of a
sync (the first object of a wave, a hook, a prune) to inject a fault right then.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from tether.kube import Gone, KubeClient, KubeError
from tether.model import keys

#: How long a broken watch waits before it tries again (the cluster may be down).
RETRY_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class Seen:
    """One watch event, reduced to what fault checks compare."""

    type: str
    kind: str
    namespace: str
    name: str
    uid: str
    resource_version: int
    object: dict[str, Any] = field(repr=False, compare=False)

    @property
    def annotations(self) -> dict[str, str]:
        return dict((self.object.get("metadata") or {}).get("annotations") or {})

    @property
    def hook(self) -> str:
        """The hook type (``PreSync``, ``PostSync``, ...), or ``""`` for a plain object."""
        return self.annotations.get(keys.HOOK, "")


def _seen(event_type: str, kind: str, obj: dict[str, Any]) -> Seen:
    metadata = obj.get("metadata") or {}
    return Seen(
        type=event_type,
        kind=kind,
        namespace=str(metadata.get("namespace", "")),
        name=str(metadata.get("name", "")),
        uid=str(metadata.get("uid", "")),
        resource_version=int(metadata.get("resourceVersion") or 0),
        object=obj,
    )


class EventLog:
    """Every ADDED, MODIFIED and DELETED event of some kinds, from the moment it starts."""

    def __init__(self, client: KubeClient, kinds: Iterable[tuple[str, str]]) -> None:
        self.client = client
        self.kinds = tuple(kinds)
        #: The events in the order they arrived (per kind, in resourceVersion order).
        self.events: list[Seen] = []
        #: How many times a watch had to relist because events were lost (``410 Gone``).
        self.gaps = 0
        #: How many times a watch broke and was resumed.
        self.resumes = 0
        self._arrived = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        versions = await asyncio.gather(*(self._list(*kind) for kind in self.kinds))
        self._tasks = [
            asyncio.create_task(self._follow(kind, version), name=f"event log {kind[1]}")
            for kind, version in zip(self.kinds, versions, strict=True)
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _list(self, api_version: str, kind: str) -> str:
        return (await self.client.list(api_version, kind)).resource_version

    async def _follow(self, kind: tuple[str, str], version: str) -> None:
        api_version, name = kind
        while True:
            try:
                async for event in self.client.watch(
                    api_version, name, resource_version=version, timeout_seconds=60
                ):
                    metadata = event.object.get("metadata") or {}
                    version = str(metadata.get("resourceVersion") or version)
                    if event.type != "BOOKMARK":
                        self.events.append(_seen(event.type, name, event.object))
                        self._arrived.set()
            except Gone:
                self.gaps += 1
                version = await self._relist_when_up(api_version, name)
            except KubeError:
                self.resumes += 1
                await asyncio.sleep(RETRY_SECONDS)

    async def _relist_when_up(self, api_version: str, kind: str) -> str:
        while True:
            try:
                return await self._list(api_version, kind)
            except KubeError:
                await asyncio.sleep(RETRY_SECONDS)

    async def catch_up(self, namespace: str) -> None:
        """Wait until the ConfigMap watch has delivered everything written before this call.

        Writes a marker ConfigMap in ``namespace`` and waits for its event: a watch
        delivers in resourceVersion order, so every earlier ConfigMap event is in.
        """
        since = self.mark()
        marker = f"event-log-marker-{since}"
        await self.client.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": marker, "namespace": namespace},
            }
        )
        await self.wait_for(lambda e: e.name == marker and e.namespace == namespace, since=since)

    # --- reading -----------------------------------------------------------------

    def mark(self) -> int:
        """A position in the log: :meth:`wait_for` with ``since`` looks only after it."""
        return len(self.events)

    def of(
        self, namespace: str, *, kind: str | None = None, event_type: str | None = None
    ) -> list[Seen]:
        """The events of one namespace, optionally of one kind and type."""
        return [
            e
            for e in self.events
            if e.namespace == namespace
            and (kind is None or e.kind == kind)
            and (event_type is None or e.type == event_type)
        ]

    def created(self, namespace: str, kind: str | None = None) -> dict[str, set[str]]:
        """Every object name ADDED in ``namespace``, with the uids it was created with."""
        names: dict[str, set[str]] = {}
        for event in self.of(namespace, kind=kind, event_type="ADDED"):
            names.setdefault(event.name, set()).add(event.uid)
        return names

    def deleted(self, namespace: str) -> set[tuple[str, str]]:
        """``(kind, name)`` of every object DELETED in ``namespace``."""
        return {(e.kind, e.name) for e in self.of(namespace, event_type="DELETED")}

    async def wait_for(
        self, predicate: Callable[[Seen], bool], *, since: int = 0, seconds: float = 30
    ) -> Seen:
        """The first event after position ``since`` matching ``predicate`` (bounded wait)."""
        index = since
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    while index < len(self.events):
                        event = self.events[index]
                        index += 1
                        if predicate(event):
                            return event
                    self._arrived.clear()
                    await self._arrived.wait()
        raise AssertionError(f"no matching event within {seconds} s (after position {since})")
