"""The workload simulation: every simulated controller, started and stopped together.

:class:`Simulation` has the shape of :class:`~tether.localcluster.controllers.Controllers`:
built on a store and its registry, it hears every committed event through one store
listener and hands it to each controller's work queue; :meth:`Simulation.start`
registers the node and reconciles everything stored, :meth:`Simulation.close` stops
the queues and timers, :meth:`Simulation.idle` says whether work is waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from tether.localcluster.loop import WorkQueue
from tether.localcluster.registry import Registry
from tether.localcluster.simulation.clock import Clock, SystemClock, as_clock
from tether.localcluster.simulation.context import Context
from tether.localcluster.simulation.cronjob import CronJobController
from tether.localcluster.simulation.daemonset import DaemonSetController
from tether.localcluster.simulation.deployment import DeploymentController
from tether.localcluster.simulation.failures import (
    CONFIGMAP_NAME,
    CONFIGMAP_NAMESPACE,
    FailureRules,
    RulesError,
)
from tether.localcluster.simulation.horizontalpodautoscaler import AutoscalerController
from tether.localcluster.simulation.ingress import IngressController
from tether.localcluster.simulation.job import JobController
from tether.localcluster.simulation.kubelet import Kubelet
from tether.localcluster.simulation.node import ensure_node
from tether.localcluster.simulation.persistentvolumeclaim import (
    VolumeController,
    ensure_storage_class,
)
from tether.localcluster.simulation.replicaset import ReplicaSetController
from tether.localcluster.simulation.service import EndpointsController, ServiceAllocator
from tether.localcluster.simulation.settings import Settings
from tether.localcluster.simulation.statefulset import StatefulSetController
from tether.localcluster.store import Store
from tether.localcluster.watch import Entry, Event

log = logging.getLogger(__name__)


class Controller(Protocol):
    """What the simulation asks of each controller."""

    queue: WorkQueue[tuple[str, str]]

    def start(self) -> None:
        """Reconcile what is stored and begin working."""
        ...

    def on_event(self, event: Event) -> None:
        """Mark the work ``event`` makes."""
        ...


class Simulation:
    """The node, the kubelet and the workload controllers of the local cluster."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        *,
        settings: Settings | None = None,
        clock: Clock | Callable[[], datetime] | None = None,
    ) -> None:
        """Simulate workloads in ``store``; :meth:`start` runs the controllers.

        ``clock`` is a :class:`~tether.localcluster.simulation.clock.Clock` or the
        store's plain ``() -> datetime`` clock (waits are then real); the system clock
        by default.
        """
        self._rules = FailureRules()
        self.context = Context(
            store,
            registry,
            as_clock(clock or SystemClock()),
            settings or Settings(),
            lambda: self._rules,
        )
        self.allocator = ServiceAllocator(self.context)
        store.add_admitter(self.allocator.admit)
        self.kubelet = Kubelet(self.context)
        self.controllers: tuple[Controller, ...] = (
            self.context.recorder,
            self.kubelet,
            ReplicaSetController(self.context),
            DeploymentController(self.context),
            StatefulSetController(self.context),
            DaemonSetController(self.context),
            JobController(self.context),
            CronJobController(self.context),
            EndpointsController(self.context, self.allocator),
            VolumeController(self.context),
            IngressController(self.context),
            AutoscalerController(self.context),
        )
        store.add_listener(self._dispatch)

    @property
    def rules(self) -> FailureRules:
        """The failure rules in force."""
        return self._rules

    def _dispatch(self, event: Event) -> None:
        kinds = self.context.kinds
        if (
            event.resource == kinds.configmaps.key
            and event.namespace == CONFIGMAP_NAMESPACE
            and event.name == CONFIGMAP_NAME
        ):
            self._read_rules(None if event.type == "DELETED" else event.entry)
        self.context.ownership.index(
            (event.resource, event.namespace, event.name),
            None if event.type == "DELETED" else event.entry,
        )
        self.allocator.on_event(event)
        for controller in self.controllers:
            controller.on_event(event)

    def _read_rules(self, entry: Entry | None) -> None:
        try:
            rules = FailureRules.from_configmap(None if entry is None else entry.obj.get("data"))
        except RulesError as error:
            log.warning(
                "failed to read configmap %s/%s: %s; keeping the previous rules",
                CONFIGMAP_NAMESPACE,
                CONFIGMAP_NAME,
                error,
            )
            return
        if rules != self._rules:
            self._rules = rules
            self.kubelet.requeue_all()

    async def start(self) -> None:
        """Register the node and the storage class, then run every controller."""
        context = self.context
        self._read_rules(context.get(context.kinds.configmaps, CONFIGMAP_NAMESPACE, CONFIGMAP_NAME))
        context.index_all()
        self.allocator.start()
        await ensure_node(context)
        await ensure_storage_class(context)
        for controller in self.controllers:
            controller.start()
        context.timers.start()

    async def close(self) -> None:
        """Stop every controller and timer, then write the Events still queued."""
        await self.context.timers.close()
        for controller in self.controllers:
            if controller is not self.context.recorder:
                await controller.queue.close()
        await self.context.recorder.close()

    def idle(self) -> bool:
        """Whether no controller has work waiting, no deadline is due, no Event is queued."""
        return (
            all(c.queue.idle() for c in self.controllers)
            and not self.context.timers.due()
            and self.context.recorder.idle()
        )
