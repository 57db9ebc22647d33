"""The built-in controllers of the local cluster, started and stopped together.

Three controllers run in the server's process on the store's in-process API, the way
kube-controller-manager and the apiextensions server run beside a real API server:
the CRD controller (:mod:`tether.localcluster.crds`), the garbage collector and the
namespace controller (:mod:`tether.localcluster.collector`). Each hears every committed
event through a store listener (a dictionary update, no copy) and does its work in its
own :class:`~tether.localcluster.loop.WorkQueue`, writing back through the same
admission and storage path as any client.
"""

from __future__ import annotations

from tether.localcluster.collector import GarbageCollector, NamespaceController
from tether.localcluster.crds import CRDController
from tether.localcluster.registry import Registry
from tether.localcluster.schema import SchemaRegistry
from tether.localcluster.store import Store
from tether.localcluster.watch import Event


class Controllers:
    """The CRD controller, the garbage collector and the namespace controller."""

    def __init__(self, store: Store, registry: Registry, schemas: SchemaRegistry) -> None:
        """Build the controllers of ``store``; :meth:`start` runs them."""
        self.crds = CRDController(store, registry, schemas)
        self.gc = GarbageCollector(store, registry)
        self.namespaces = NamespaceController(store, registry)
        store.add_listener(self._dispatch)

    def _dispatch(self, event: Event) -> None:
        self.crds.on_event(event)
        self.gc.on_event(event)
        self.namespaces.on_event(event)

    async def start(self) -> None:
        """Serve stored CRDs and resume pending deletions."""
        self.crds.start()
        self.gc.start()
        self.namespaces.start()

    async def close(self) -> None:
        """Stop every controller."""
        for queue in (self.crds.queue, self.gc.queue, self.namespaces.queue):
            await queue.close()

    def idle(self) -> bool:
        """Whether no controller has work waiting."""
        return all(q.idle() for q in (self.crds.queue, self.gc.queue, self.namespaces.queue))
