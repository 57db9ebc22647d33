"""The watch-backed cache of one cluster's live objects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tether.kube import Gone, KubeClient, KubeError, UnknownKind
from tether.model import ResourceKey, keys, parse_tracking_id

log = logging.getLogger(__name__)

#: Kinds watched in every cluster because managed objects own them (the resource tree).
CHILD_KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "ReplicaSet"),
    ("v1", "Pod"),
    ("batch/v1", "Job"),
)


#: Seconds a watch must have run for its breaking to restart the reconnect back-off.
HEALTHY_WATCH = 1.0


class TrackingMethod(StrEnum):
    """How an object names the application managing it.

    Argo CD's ``application.resourceTrackingMethod`` setting, with the same values.
    """

    ANNOTATION = "annotation"
    LABEL = "label"
    ANNOTATION_AND_LABEL = "annotation+label"


class ChangeType(StrEnum):
    """What happened to a cached object."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class Change:
    """One object changed; ``apps`` names the applications that track it (old or new)."""

    type: ChangeType
    key: ResourceKey
    apps: frozenset[str]


def tracking_app_of(obj: Mapping[str, Any], method: TrackingMethod) -> str | None:
    """The application an object is tracked by, or ``None``.

    With annotation tracking, the tracking id must also name this very object: a copied
    annotation (e.g. on a Pod created from a Deployment's template) does not make the
    copy a managed object, as in Argo CD.
    """
    metadata = obj.get("metadata") or {}
    if method is TrackingMethod.LABEL:
        label = (metadata.get("labels") or {}).get(keys.INSTANCE_LABEL)
        return str(label) if label else None
    value = (metadata.get("annotations") or {}).get(keys.TRACKING_ID)
    parsed = parse_tracking_id(str(value)) if value else None
    if parsed is None:
        return None
    app, key = parsed
    own = ResourceKey.of(obj)
    if (key.group, key.kind, key.name) != (own.group, own.kind, own.name):
        return None
    if key.namespace and key.namespace != own.namespace:
        return None
    return app


class ClusterCache:
    """List+watch of chosen kinds of one cluster, indexed by tracking id and owner.

    Call :meth:`watch_kinds` with the kinds managed objects use; each kind gets a task
    that lists, then watches from the list's resourceVersion, relists on ``410 Gone``
    and reconnects with backoff on errors. :meth:`wait_synced` returns once every
    watched kind has been listed. Subscribers receive a :class:`Change` for every
    added, modified or deleted object.

    A kind whose list fails is :attr:`stale`: its cached objects may no longer be the
    truth, and comparisons must say so rather than trust them. When no kind is stale
    any more, one change per tracking app is published, so that the apps that could not
    be compared meanwhile look again.
    """

    def __init__(
        self,
        client: KubeClient,
        *,
        tracking: TrackingMethod = TrackingMethod.ANNOTATION,
        watch_timeout: int = 300,
        max_backoff: float = 10.0,
        rng: Callable[[], float] = random.random,  # jitter source, injectable for tests
    ) -> None:
        self.client = client
        self.tracking = tracking
        self._watch_timeout = watch_timeout
        self._max_backoff = max_backoff
        self._rng = rng
        self._objects: dict[ResourceKey, dict[str, Any]] = {}
        self._by_app: dict[str, set[ResourceKey]] = defaultdict(set)
        self._app_of: dict[ResourceKey, str] = {}
        self._children: dict[str, set[ResourceKey]] = defaultdict(set)
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._synced: dict[tuple[str, str], asyncio.Event] = {}
        self._errors: dict[tuple[str, str], str] = {}
        self._stale: dict[tuple[str, str], str] = {}
        self._subscribers: list[asyncio.Queue[Change]] = []

    # --- reading -----------------------------------------------------------------

    def get(self, key: ResourceKey) -> dict[str, Any] | None:
        """The cached object with this key, or ``None``."""
        return self._objects.get(key)

    def objects_of(self, app: str) -> list[dict[str, Any]]:
        """Every cached object tracked by application ``app``."""
        return [self._objects[k] for k in sorted(self._by_app.get(app, ()))]

    def of_kind(self, group: str, kind: str) -> list[dict[str, Any]]:
        """Every cached object of one group and kind."""
        return [o for k, o in self._objects.items() if k.group == group and k.kind == kind]

    def children_of(self, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Cached objects whose ownerReferences name ``obj``."""
        uid = (obj.get("metadata") or {}).get("uid")
        return [self._objects[k] for k in sorted(self._children.get(uid, ()))] if uid else []

    def __len__(self) -> int:
        return len(self._objects)

    @property
    def errors(self) -> dict[str, str]:
        """The last error of each kind whose watch is failing (``group/Kind`` → message)."""
        return {f"{av}/{kind}": message for (av, kind), message in self._errors.items()}

    @property
    def stale(self) -> dict[str, str]:
        """Kinds whose last list failed (``apiVersion/Kind`` → message), until one succeeds."""
        return {f"{av}/{kind}": message for (av, kind), message in self._stale.items()}

    def subscribe(self) -> asyncio.Queue[Change]:
        """A queue that receives every future change."""
        queue: asyncio.Queue[Change] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Change]) -> None:
        """Stop delivering changes to ``queue``."""
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    # --- watching ----------------------------------------------------------------

    def watch_kinds(self, kinds: Iterable[tuple[str, str]]) -> None:
        """Start watching each ``(apiVersion, kind)`` not watched yet."""
        for kind in kinds:
            if kind not in self._tasks:
                self._synced[kind] = asyncio.Event()
                self._tasks[kind] = asyncio.create_task(
                    self._run(kind), name=f"watch {kind[0]}/{kind[1]}"
                )

    async def wait_synced(self) -> None:
        """Wait until every watched kind has been listed at least once (bound it with a timeout)."""
        await asyncio.gather(*(event.wait() for event in self._synced.values()))

    async def close(self) -> None:
        """Stop every watch."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def _run(self, kind: tuple[str, str]) -> None:
        api_version, name = kind
        failures = 0
        resource_version = ""
        loop = asyncio.get_running_loop()
        while True:
            watching_since: float | None = None
            try:
                if not resource_version:
                    resource_version = await self._relist(kind)
                    self._synced[kind].set()
                watching_since = loop.time()
                async for event in self.client.watch(
                    api_version,
                    name,
                    resource_version=resource_version,
                    timeout_seconds=self._watch_timeout,
                ):
                    resource_version = (
                        self._apply_event(event.type, event.object) or resource_version
                    )
                    failures = 0
                self._errors.pop(kind, None)
            except Gone:
                resource_version = ""  # too old: list again, then watch from there
            except UnknownKind as error:
                # The kind is not served (yet): an empty list is the truth until it is.
                self._errors[kind] = str(error)
                self._synced[kind].set()
                failures += 1
                await asyncio.sleep(self._backoff(failures))
            except KubeError as error:
                self._errors[kind] = str(error)
                if watching_since is not None and loop.time() - watching_since >= HEALTHY_WATCH:
                    # A watch that ran a while broke (a proxy or a load balancer cutting long
                    # connections): a fresh failure, not one more of a series. Without this,
                    # a kind with few events would wait ever longer to list again, stale.
                    failures = 0
                failures += 1
                log.warning("%s; retrying", error)
                await asyncio.sleep(self._backoff(failures))
                resource_version = ""

    def _backoff(self, failures: int) -> float:
        base: float = min(self._max_backoff, 0.2 * 2 ** min(failures, 10))
        return base * (0.5 + self._rng() / 2)

    async def _relist(self, kind: tuple[str, str]) -> str:
        try:
            listed = await self.client.list(*kind)
        except UnknownKind:
            raise  # not served: an empty list is the truth, nothing is stale
        except KubeError as error:
            self._stale[kind] = str(error)
            raise
        recovered = self._stale.pop(kind, None) is not None
        group = kind[0].rpartition("/")[0]
        fresh = {ResourceKey.of(item): item for item in listed.items}
        stale = [
            k for k in self._objects if k.group == group and k.kind == kind[1] and k not in fresh
        ]
        for key in stale:
            self._remove(key)
        for item in fresh.values():
            self._apply_event("MODIFIED", item)
        if recovered and not self._stale:
            # Every kind lists again: the apps compared meanwhile said Unknown, and each
            # of them must look again now that the cache is the truth once more.
            for app, tracked in list(self._by_app.items()):
                self._publish(Change(ChangeType.MODIFIED, min(tracked), frozenset([app])))
        self._errors.pop(kind, None)
        return listed.resource_version

    def _apply_event(self, event_type: str, obj: dict[str, Any]) -> str:
        """Fold one event into the cache; returns the object's resourceVersion."""
        metadata = obj.get("metadata") or {}
        version = str(metadata.get("resourceVersion", ""))
        if event_type == "BOOKMARK":
            return version
        key = ResourceKey.of(obj)
        if event_type == "DELETED":
            self._remove(key)
            return version
        previous = self._objects.get(key)
        if previous is not None:
            if (previous.get("metadata") or {}).get("resourceVersion") == version:
                return version
            self._unindex(key, previous)
        self._objects[key] = obj
        app = tracking_app_of(obj, self.tracking)
        if app:
            self._by_app[app].add(key)
            self._app_of[key] = app
        for owner in metadata.get("ownerReferences") or []:
            if owner.get("uid"):
                self._children[owner["uid"]].add(key)
        old_app = tracking_app_of(previous, self.tracking) if previous else None
        change_type = ChangeType.ADDED if previous is None else ChangeType.MODIFIED
        self._publish(Change(change_type, key, frozenset(a for a in (app, old_app) if a)))
        return version

    def _remove(self, key: ResourceKey) -> None:
        previous = self._objects.pop(key, None)
        if previous is None:
            return
        app = self._unindex(key, previous)
        self._publish(Change(ChangeType.DELETED, key, frozenset([app] if app else [])))

    def _unindex(self, key: ResourceKey, obj: Mapping[str, Any]) -> str | None:
        app = self._app_of.pop(key, None)
        if app:
            self._by_app[app].discard(key)
            if not self._by_app[app]:
                del self._by_app[app]
        for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
            children = self._children.get(owner.get("uid", ""))
            if children is not None:
                children.discard(key)
                if not children:
                    del self._children[owner["uid"]]
        return app

    def _publish(self, change: Change) -> None:
        for queue in self._subscribers:
            queue.put_nowait(change)
