"""One writer per app: shards of applications, each held through a Lease.

Several controller processes may run against one management cluster. Applications are
split into ``shards`` by a stable hash of ``namespace/name`` (:func:`shard_of`); shard
``i`` belongs to whoever holds the Lease ``tether-controller-shard-<i>``
(``coordination.k8s.io/v1``) in the control namespace. A controller reconciles and
syncs only the apps of the shards it holds.

Each replica *prefers* some shards (``--shard``): it takes those as soon as they are
free. Other shards it takes only once their holder has stopped renewing for a whole
extra lease period, so a dead replica's apps move to a live one while a starting
replica does not grab shards meant for its peers. Leases are renewed every
``renew_seconds``; a replica that cannot renew stops treating the shard as its own
before the lease expires, so two replicas never both believe they hold it. A replica
that stops cleanly releases its leases at once.

Times written into Leases come from the injected clock (wall time: other processes
read them); local deadlines use the monotonic clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tether.kube import AlreadyExists, Conflict, KubeClient, KubeError, NotFound
from tether.model import SpecError
from tether.model.wire import parse_time

log = logging.getLogger(__name__)

LEASE_API = "coordination.k8s.io/v1"
LEASE_PREFIX = "tether-controller-shard-"


def shard_of(app_key: str, shards: int) -> int:
    """The shard of the app ``namespace/name``: stable across processes and restarts."""
    if shards <= 1:
        return 0
    digest = hashlib.sha256(app_key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def default_identity() -> str:
    """``<host>-<pid>-<random>``: unique for each run of a controller."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def _micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class ShardingConfig:
    """How many shards there are, which this replica prefers, and the lease timings."""

    shards: int = 1
    preferred: frozenset[int] | None = None  # None: every shard
    identity: str = ""
    lease_seconds: float = 15.0
    renew_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ValueError("shards must be at least 1")
        if self.preferred is not None and any(not 0 <= s < self.shards for s in self.preferred):
            raise ValueError(f"preferred shards must be between 0 and {self.shards - 1}")
        if not 0 < self.renew_seconds < self.lease_seconds:
            raise ValueError("renew_seconds must be positive and shorter than lease_seconds")

    def prefers(self, shard: int) -> bool:
        """Whether this replica takes ``shard`` as soon as it is free."""
        return self.preferred is None or shard in self.preferred


class ShardLeases:
    """The shards this controller holds, kept by renewing their Leases."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        config: ShardingConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.config = config
        self.identity = config.identity or default_identity()
        self.clock = clock
        self._held: dict[int, float] = {}  # shard -> monotonic time of the last renewal
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[frozenset[int]], None]] = []

    # --- reading -------------------------------------------------------------------

    @property
    def held(self) -> frozenset[int]:
        """The shards this replica may work on now."""
        limit = self.config.lease_seconds - self.config.renew_seconds
        now = time.monotonic()
        return frozenset(s for s, renewed in self._held.items() if now - renewed < limit)

    def owns(self, app_key: str) -> bool:
        """Whether this replica reconciles the app ``namespace/name``."""
        return shard_of(app_key, self.config.shards) in self.held

    def on_acquired(self, listener: Callable[[frozenset[int]], None]) -> None:
        """Call ``listener(shards)`` whenever shards are newly acquired."""
        self._listeners.append(listener)

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Take the free preferred shards, then keep renewing in the background."""
        await self.tick()
        self._task = asyncio.create_task(self._loop(), name="shard leases")

    async def close(self) -> None:
        """Stop renewing and release the held leases so peers take over at once."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for shard in sorted(self._held):
            with contextlib.suppress(KubeError):
                await self._release(shard)
        self._held.clear()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.renew_seconds)
            try:
                await self.tick()
            except KubeError as error:
                log.warning("failed to renew shard leases: %s", error)

    # --- one round -----------------------------------------------------------------

    async def tick(self) -> None:
        """Renew held shards, take free or abandoned ones; tell listeners what is new."""
        before = self.held
        for shard in range(self.config.shards):
            await self._visit(shard)
        gained = self.held - before
        if gained:
            log.info("%s holds shards %s", self.identity, sorted(self.held))
            for listener in self._listeners:
                listener(gained)

    async def _visit(self, shard: int) -> None:
        name = f"{LEASE_PREFIX}{shard}"
        try:
            lease = await self.client.get(LEASE_API, "Lease", name, self.namespace)
        except NotFound:
            lease = None
        now = self.clock()
        if lease is None:
            if self.config.prefers(shard):
                with contextlib.suppress(AlreadyExists):
                    await self.client.create(self._lease(name, now, now, transitions=0))
                    self._held[shard] = time.monotonic()
            return
        spec: Mapping[str, Any] = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        if holder == self.identity:
            await self._write(shard, lease, spec, now, acquired=False)
            return
        silent = self._silent_for(spec, now)
        duration = float(spec.get("leaseDurationSeconds") or self.config.lease_seconds)
        free = not holder or silent > duration
        patient = self.config.prefers(shard) or not holder or silent > 2 * duration
        self._held.pop(shard, None)
        if free and patient:
            await self._write(shard, lease, spec, now, acquired=True)

    @staticmethod
    def _silent_for(spec: Mapping[str, Any], now: datetime) -> float:
        renewed = spec.get("renewTime") or spec.get("acquireTime")
        if not renewed:
            return float("inf")
        try:
            return (now - parse_time(renewed, "spec.renewTime")).total_seconds()
        except SpecError:
            return float("inf")

    async def _write(
        self,
        shard: int,
        lease: Mapping[str, Any],
        spec: Mapping[str, Any],
        now: datetime,
        *,
        acquired: bool,
    ) -> None:
        acquire_time = now
        if not acquired and spec.get("acquireTime"):
            with contextlib.suppress(SpecError):
                acquire_time = parse_time(spec["acquireTime"], "spec.acquireTime")
        transitions = int(spec.get("leaseTransitions") or 0) + (1 if acquired else 0)
        updated = self._lease(lease["metadata"]["name"], acquire_time, now, transitions)
        updated["metadata"]["resourceVersion"] = lease["metadata"]["resourceVersion"]
        try:
            await self.client.replace(updated)
        except (Conflict, NotFound):
            self._held.pop(shard, None)  # someone else wrote it first
            return
        self._held[shard] = time.monotonic()

    async def _release(self, shard: int) -> None:
        name = f"{LEASE_PREFIX}{shard}"
        lease = await self.client.get(LEASE_API, "Lease", name, self.namespace)
        spec = dict(lease.get("spec") or {})
        if spec.get("holderIdentity") != self.identity:
            return
        spec.pop("holderIdentity", None)
        with contextlib.suppress(Conflict):
            await self.client.replace(lease | {"spec": spec})

    def _lease(
        self, name: str, acquired: datetime, renewed: datetime, transitions: int
    ) -> dict[str, Any]:
        return {
            "apiVersion": LEASE_API,
            "kind": "Lease",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": max(1, round(self.config.lease_seconds)),
                "acquireTime": _micro_time(acquired),
                "renewTime": _micro_time(renewed),
                "leaseTransitions": transitions,
            },
        }
