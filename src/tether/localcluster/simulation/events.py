"""Events: what the controllers and the kubelet report, as ``kubectl describe`` shows it.

:class:`Recorder` writes core ``v1`` Events the way client-go's event recorder does:
one Event per involved object, reporting component, type, reason and message, named
``<object>.<16 hex digits>``; the same report again increments ``count`` and moves
``lastTimestamp`` (the recorder's aggregation), so a crash loop's back-offs are one
Event with a growing count. The name is derived from the report, so a restarted
simulation adds to the Events it wrote before instead of duplicating them. As the API
server's ``--event-ttl`` (1 h) does, an Event is deleted an hour after it was last
seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tether.localcluster.errors import APIError
from tether.localcluster.loop import WorkQueue
from tether.localcluster.simulation.clock import parse_time
from tether.localcluster.watch import Entry, Event

if TYPE_CHECKING:
    from tether.localcluster.simulation.context import Context

log = logging.getLogger(__name__)

Key = tuple[str, str]
Obj = dict[str, Any]

#: How long an Event lives after it was last seen (kube-apiserver's ``--event-ttl``).
EVENT_TTL = timedelta(hours=1)
#: The field manager of Event writes (client-go's recorder names none but the component).
MANAGER = "event-recorder"


class EventType(enum.StrEnum):
    """An Event's ``type``."""

    NORMAL = "Normal"
    WARNING = "Warning"


def _name(involved: Entry, component: str, type_: EventType, reason: str, message: str) -> str:
    digest = hashlib.sha256(
        "\n".join((involved.metadata.get("uid", ""), component, type_, reason, message)).encode()
    ).hexdigest()[:16]
    return f"{involved.metadata['name']}.{digest}"


@dataclass
class _Report:
    """A report waiting to be written, with how often it was made meanwhile."""

    involved: Entry
    type: EventType
    reason: str
    message: str
    component: str
    host: str
    field_path: str
    first: str
    last: str
    times: int = 1


class Recorder:
    """Records Events without holding up the reporters, and expires them.

    :meth:`record` only queues the report (client-go's recorder is asynchronous too);
    a writer task stores the queued reports together, so their writes share the store's
    group commits with the controllers' instead of each controller waiting for its
    Events. Reports repeated before they are written are folded into one write.
    """

    def __init__(self, context: Context) -> None:
        """Record Events in ``context``'s store."""
        self._context = context
        self.queue: WorkQueue[Key] = WorkQueue("event-ttl", self._expire)
        self._pending: dict[Key, _Report] = {}
        self._wake = asyncio.Event()
        self._writing = False
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Schedule the expiry of every stored Event and start writing reports."""
        for entry in self._context.store.objects_of(self._context.kinds.events.key):
            self._schedule((entry.metadata.get("namespace", ""), entry.metadata["name"]), entry)
        self.queue.start()
        self._writer = asyncio.get_running_loop().create_task(self._write_all(), name="events")

    async def close(self) -> None:
        """Write what is queued, then stop."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            await self._flush()
        await self.queue.close()

    def idle(self) -> bool:
        """Whether no report waits to be written."""
        return not self._pending and not self._writing

    def on_event(self, event: Event) -> None:
        """Schedule the expiry of written Events."""
        if event.resource == self._context.kinds.events.key and event.type != "DELETED":
            self._schedule((event.namespace, event.name), event.entry)

    def _schedule(self, key: Key, entry: Entry) -> None:
        seen = parse_time(entry.obj.get("lastTimestamp"))
        if seen is not None:
            self._context.timers.at(seen + EVENT_TTL, self.queue, key)

    async def _expire(self, key: Key) -> None:
        context = self._context
        entry = context.get(context.kinds.events, *key)
        if entry is None:
            return
        seen = parse_time(entry.obj.get("lastTimestamp"))
        if seen is None or seen + EVENT_TTL <= context.now():
            await context.delete(context.kinds.events, entry)

    def record(
        self,
        involved: Entry,
        type_: EventType,
        reason: str,
        message: str,
        component: str,
        *,
        host: str = "",
        field_path: str = "",
    ) -> None:
        """Report ``reason``/``message`` about ``involved`` from ``component`` (on ``host``)."""
        if not self._context.settings.events:
            return
        key = (
            involved.metadata.get("namespace") or "default",
            _name(involved, component, type_, reason, message),
        )
        now = self._context.timestamp()
        queued = self._pending.get(key)
        if queued is not None:
            queued.times += 1
            queued.last = now
        else:
            self._pending[key] = _Report(
                involved, type_, reason, message, component, host, field_path, now, now
            )
        self._wake.set()

    async def _write_all(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        batch, self._pending = self._pending, {}
        if not batch:
            return
        self._writing = True
        try:
            await asyncio.gather(*(self._store(key, report) for key, report in batch.items()))
        finally:
            self._writing = False

    async def _store(self, key: Key, report: _Report) -> None:
        try:
            await self._write(key, report)
        except APIError as error:
            # Events are best effort, as client-go's recorder makes them: a namespace
            # being deleted refuses them, and that must not stop anything.
            log.debug("failed to record event %s/%s: %s", key[0], key[1], error)

    async def _write(self, key: Key, report: _Report) -> None:
        context = self._context
        events = context.kinds.events
        current = context.get(events, *key)
        if current is not None:

            def again(obj: Obj) -> None:
                obj["count"] = int(obj.get("count") or 1) + report.times
                obj["lastTimestamp"] = report.last

            await context.update(events, current, again, MANAGER)
            return
        involved = report.involved
        reference: Obj = {
            "apiVersion": involved.obj["apiVersion"],
            "kind": involved.obj["kind"],
            "name": involved.metadata["name"],
            "namespace": involved.metadata.get("namespace", ""),
            "resourceVersion": involved.metadata.get("resourceVersion", ""),
            "uid": involved.metadata.get("uid", ""),
        }
        if not reference["namespace"]:
            del reference["namespace"]
        if report.field_path:
            reference["fieldPath"] = report.field_path
        source: Obj = {"component": report.component}
        if report.host:
            source["host"] = report.host
        await context.create(
            events,
            key[0],
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": key[1]},
                "involvedObject": reference,
                "reason": report.reason,
                "message": report.message,
                "source": source,
                "firstTimestamp": report.first,
                "lastTimestamp": report.last,
                "count": report.times,
                "type": str(report.type),
                "reportingComponent": report.component,
                "reportingInstance": report.host,
            },
            MANAGER,
        )


#: What the kubelet reports about one container: type, reason, message, field path.
Report = tuple[EventType, str, str, str]


def container_reports(pod: Obj, old: Obj, new: Obj) -> list[Report]:
    """The kubelet's Events for the containers whose state moved from ``old`` to ``new``."""
    meta = pod["metadata"]
    spec = pod.get("spec") or {}
    pod_ref = f"{meta['name']}_{meta.get('namespace', '')}({meta.get('uid', '')})"
    reports: list[Report] = []
    for field, key in (
        ("initContainers", "initContainerStatuses"),
        ("containers", "containerStatuses"),
    ):
        before = {c.get("name"): c for c in old.get(key) or []}
        declared = {c.get("name"): c for c in spec.get(field) or []}
        for after in new.get(key) or []:
            name = str(after.get("name", ""))
            container = declared.get(name) or {}
            reports += _reports(
                container, before.get(name) or {}, after, f"spec.{field}{{{name}}}", pod_ref
            )
    return reports


def _waiting(status: Obj) -> str:
    return str(((status.get("state") or {}).get("waiting") or {}).get("reason") or "")


def _reports(container: Obj, before: Obj, after: Obj, path: str, pod_ref: str) -> list[Report]:
    name = str(after.get("name", ""))
    image = str(container.get("image", ""))
    reports: list[Report] = []
    ran = "waiting" not in (after.get("state") or {})
    if ran and after.get("containerID") and after.get("containerID") != before.get("containerID"):
        if container.get("imagePullPolicy") == "Always":
            reports.append((EventType.NORMAL, "Pulling", f'Pulling image "{image}"', path))
            message = f'Successfully pulled image "{image}" in 0s (0s including waiting)'
        else:
            message = f'Container image "{image}" already present on machine'
        reports += [
            (EventType.NORMAL, "Pulled", message, path),
            (EventType.NORMAL, "Created", f"Created container: {name}", path),
            (EventType.NORMAL, "Started", f"Started container {name}", path),
        ]
    reason, was = _waiting(after), _waiting(before)
    pulling = ("ErrImagePull", "ImagePullBackOff")
    if reason in pulling and was not in pulling:
        error = ((after.get("state") or {}).get("waiting") or {}).get("message", "")
        if reason == "ImagePullBackOff":
            error = str(error).split(": ErrImagePull: ", 1)[-1]
        reports += [
            (EventType.NORMAL, "Pulling", f'Pulling image "{image}"', path),
            (EventType.WARNING, "Failed", f'Failed to pull image "{image}": {error}', path),
            (EventType.WARNING, "Failed", "Error: ErrImagePull", path),
        ]
    if reason == "ImagePullBackOff" and was != "ImagePullBackOff":
        reports += [
            (EventType.NORMAL, "BackOff", f'Back-off pulling image "{image}"', path),
            (EventType.WARNING, "Failed", "Error: ImagePullBackOff", path),
        ]
    restarted = after.get("restartCount") != before.get("restartCount")
    if reason == "CrashLoopBackOff" and (was != "CrashLoopBackOff" or restarted):
        message = f"Back-off restarting failed container {name} in pod {pod_ref}"
        reports.append((EventType.WARNING, "BackOff", message, path))
    return reports
