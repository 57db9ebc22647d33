"""An in-process local cluster with the workload simulation, on a clock tests move.

:class:`SimCluster` holds the store, registry, schemas and controllers of a
:class:`~tether.localcluster.server.Cluster`, plus a
:class:`~tether.localcluster.simulation.Simulation` on a
:class:`~tether.localcluster.simulation.ManualClock`, and the verbs tests use: create
objects from ``testdata/localcluster/simulation``, change and delete them, and wait
(bounded) until the simulation settles or a condition holds.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tether.localcluster.registry import Registry
from tether.localcluster.resources import ResourceType
from tether.localcluster.server import Cluster
from tether.localcluster.simulation import ManualClock, Settings, Simulation
from tether.localcluster.store import DeleteOptions, WriteOptions
from tether.localcluster.watch import Entry

TESTDATA = Path(__file__).parents[3] / "testdata" / "localcluster" / "simulation"
WAIT_SECONDS = 10.0
Obj = dict[str, Any]


def load(name: str) -> Obj:
    """A fixture object from ``testdata/localcluster/simulation/<name>.yaml``."""
    data: Obj = yaml.safe_load((TESTDATA / f"{name}.yaml").read_text())
    return data


class SimCluster:
    """A cluster with a simulation, and the verbs tests use."""

    def __init__(self, path: Path, settings: Settings, clock: ManualClock) -> None:
        self.path = path
        self.settings = settings
        self.clock = clock
        self.cluster = Cluster(path, clock=clock)
        self.simulation = Simulation(
            self.cluster.store, self.cluster.registry, settings=settings, clock=clock
        )

    @property
    def registry(self) -> Registry:
        return self.cluster.registry

    async def start(self) -> None:
        await self.cluster.start()
        await self.simulation.start()

    async def close(self) -> None:
        await self.simulation.close()
        await self.cluster.close()

    def rtype(self, kind: str) -> ResourceType:
        for rtype in self.registry:
            if rtype.kind == kind and not rtype.custom:
                return rtype
        raise LookupError(kind)

    async def create(self, obj: Obj, namespace: str = "default") -> Entry:
        written = await self.cluster.store.create(
            self.rtype(obj["kind"]), namespace, copy.deepcopy(obj)
        )
        return written.entry

    async def change(
        self, kind: str, name: str, edit: Callable[[Obj], None], namespace: str = "default"
    ) -> Entry:
        current = self.get(kind, name, namespace)
        assert current is not None, f"{kind} {name} is missing"
        obj = copy.deepcopy(current.obj)
        edit(obj)
        written = await self.cluster.store.replace_with(
            self.rtype(kind), current, obj, WriteOptions(field_manager="test")
        )
        return written.entry

    async def delete(
        self, kind: str, name: str, namespace: str = "default", propagation: str = "Background"
    ) -> None:
        await self.cluster.store.delete(
            self.rtype(kind), namespace, name, DeleteOptions(propagation=propagation)
        )

    def get(self, kind: str, name: str, namespace: str = "default") -> Entry | None:
        rtype = self.rtype(kind)
        return self.cluster.store.lookup(rtype, namespace if rtype.namespaced else None, name)

    def obj(self, kind: str, name: str, namespace: str = "default") -> Obj:
        entry = self.get(kind, name, namespace)
        assert entry is not None, f"{kind} {namespace}/{name} is missing"
        return entry.obj

    def list(self, kind: str, namespace: str | None = "default") -> list[Obj]:
        return [e.obj for e in self.cluster.store.list(self.rtype(kind), namespace).entries]

    async def settle(self) -> None:
        """Wait (bounded) until no controller has work left and every write is committed.

        A reconcile waiting on its write leaves its queue empty, so quiet also means the
        newest resourceVersion is committed and has not moved for a few polls.
        """
        store = self.cluster.store
        async with asyncio.timeout(WAIT_SECONDS):
            quiet = 0
            last = -1
            while quiet < 4:
                await asyncio.sleep(0.005)
                rv = store.resource_version()
                busy = (
                    not (self.simulation.idle() and self.cluster.controllers.idle())
                    or store.committed_rv != rv
                    or rv != last
                )
                last = rv
                quiet = 0 if busy else quiet + 1

    async def advance(self, seconds: float) -> None:
        """Move the clock and let the simulation catch up."""
        self.clock.advance(seconds)
        await self.settle()
