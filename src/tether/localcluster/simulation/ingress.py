"""Ingresses: the ingress controller's address in ``status.loadBalancer``.

Every Ingress gets ``status.loadBalancer.ingress[0].ip``, the node's address, as an
ingress controller running on the node reports it.
"""

from __future__ import annotations

from tether.localcluster.loop import WorkQueue
from tether.localcluster.simulation.context import Context
from tether.localcluster.simulation.node import NODE_IP
from tether.localcluster.watch import Event

Key = tuple[str, str]


class IngressController:
    """Publishes the node's address on Ingresses."""

    def __init__(self, context: Context) -> None:
        """Serve the Ingresses of ``context``'s store."""
        self._context = context
        self.queue: WorkQueue[Key] = WorkQueue("ingress-controller", self._reconcile)

    def start(self) -> None:
        """Reconcile every Ingress once, then follow events."""
        for entry in self._context.store.objects_of(self._context.kinds.ingresses.key):
            self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark Ingresses that changed."""
        if event.resource == self._context.kinds.ingresses.key and event.type != "DELETED":
            self.queue.add((event.namespace, event.name))

    async def _reconcile(self, key: Key) -> None:
        ingresses = self._context.kinds.ingresses
        ingress = self._context.get(ingresses, *key)
        if ingress is None:
            return
        status = {"loadBalancer": {"ingress": [{"ip": NODE_IP}]}}
        await self._context.write_status(ingresses, ingress, status)
