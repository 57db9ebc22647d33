"""The simulated scheduler and kubelet of ``local-node``.

A Pod without ``spec.nodeName`` is bound to ``local-node`` (unless its
``nodeSelector`` rules the node out: it stays ``Pending`` with the scheduler's
``Unschedulable`` condition). The kubelet then posts the first status (``startTime``,
``hostIP``, containers in ``ContainerCreating``), gives the Pod an address from
10.244.0.0/16 unique among live Pods, and from then on writes the status
:func:`~tether.localcluster.simulation.pods.running_status` computes, waking up again
when it next changes. Pods bound to another node are left alone, as their kubelet
would own them; finished Pods are never touched again. A Pod deleted while bound to
the node (the API server gives it a grace period) has its containers stopped (exit
code 0, the Pod ``Succeeded``) and is then removed with a grace period of zero.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from tether.localcluster.errors import APIError
from tether.localcluster.loop import WorkQueue
from tether.localcluster.resources import ResourceType
from tether.localcluster.simulation.context import KUBELET, Context, condition
from tether.localcluster.simulation.events import EventType, container_reports
from tether.localcluster.simulation.node import NODE_NAME, POD_CIDR, fits
from tether.localcluster.simulation.pods import (
    creating_status,
    running_status,
    start_time,
    stopped_status,
)
from tether.localcluster.store import DeleteOptions, WriteOptions
from tether.localcluster.watch import Entry, Event

PodKey = tuple[str, str]
TERMINAL = ("Succeeded", "Failed")
SCHEDULER = "kube-scheduler"
UNSCHEDULABLE = (
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. "
    "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
)


class PodAddresses:
    """Pod IPs from the node's Pod CIDR, handed out in turn, unique among live Pods."""

    def __init__(self, cidr: str = POD_CIDR) -> None:
        """Allocate from ``cidr`` (its network address and the gateway ``.1`` excluded)."""
        network = ipaddress.ip_network(cidr)
        self._base = int(network.network_address)
        self._size = network.num_addresses
        self._next = 2
        self._owners: dict[str, PodKey] = {}
        self._ips: dict[PodKey, str] = {}

    def hold(self, pod: PodKey, ip: str) -> None:
        """Record that ``pod`` (already) has ``ip``."""
        self._owners[ip] = pod
        self._ips[pod] = ip

    def allocate(self, pod: PodKey) -> str:
        """A free address for ``pod``."""
        for _ in range(self._size - 3):
            offset = self._next
            self._next = self._next + 1 if self._next + 1 < self._size - 1 else 2
            ip = str(ipaddress.ip_address(self._base + offset))
            if ip not in self._owners:
                self.hold(pod, ip)
                return ip
        raise RuntimeError(
            f"failed to allocate an address for pod {pod[0]}/{pod[1]}: {POD_CIDR} is full"
        )

    def release(self, pod: PodKey) -> None:
        """Free ``pod``'s address."""
        ip = self._ips.pop(pod, None)
        if ip is not None and self._owners.get(ip) == pod:
            del self._owners[ip]


def admit_binding(
    rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None, options: WriteOptions
) -> list[str]:
    """Binding a Pod to a node is not a spec change: its ``generation`` stays.

    A real scheduler binds through ``pods/binding``, which sets ``spec.nodeName`` without
    bumping ``metadata.generation``; the simulated scheduler's write gets the same
    treatment.
    """
    if rtype.key != ("", "pods") or old is None or options.field_manager != SCHEDULER:
        return []
    new_spec = {k: v for k, v in (obj.get("spec") or {}).items() if k != "nodeName"}
    old_spec = {k: v for k, v in (old.get("spec") or {}).items() if k != "nodeName"}
    if new_spec == old_spec and "generation" in old["metadata"]:
        obj["metadata"]["generation"] = old["metadata"]["generation"]
    return []


class Kubelet:
    """Schedules Pods to ``local-node`` and runs them there."""

    def __init__(self, context: Context) -> None:
        """Run the Pods of ``context``'s store."""
        self._context = context
        self._addresses = PodAddresses()
        self.queue: WorkQueue[PodKey] = WorkQueue("simulated-kubelet", self._reconcile)
        context.store.add_admitter(admit_binding)

    def start(self) -> None:
        """Take up every unfinished Pod (or one left being deleted) where its status left it."""
        for entry in self._context.store.objects_of(self._context.kinds.pods.key):
            key = (entry.metadata.get("namespace", ""), entry.metadata["name"])
            status = entry.obj.get("status") or {}
            if status.get("phase") in TERMINAL and "deletionTimestamp" not in entry.metadata:
                continue
            if status.get("podIP"):
                self._addresses.hold(key, status["podIP"])
            self.queue.add(key)
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark changed Pods; free the addresses of deleted ones."""
        if event.resource != self._context.kinds.pods.key:
            return
        key = (event.namespace, event.name)
        if event.type == "DELETED":
            self._addresses.release(key)
        else:
            self.queue.add(key)

    def requeue_all(self) -> None:
        """Look at every unfinished Pod again (the failure rules changed)."""
        for entry in self._context.store.objects_of(self._context.kinds.pods.key):
            if (entry.obj.get("status") or {}).get("phase") not in TERMINAL:
                self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))

    async def _reconcile(self, key: PodKey) -> None:
        context = self._context
        pods = context.kinds.pods
        pod = context.store.lookup(pods, *key)
        if pod is None:
            return
        if "deletionTimestamp" in pod.metadata:
            await self._terminate(key, pod)
            return
        spec = pod.obj.get("spec") or {}
        node = spec.get("nodeName")
        if not node:
            if not fits(spec):
                await self._unschedulable(key)
                return
            pod = await context.update(
                pods, pod, lambda obj: obj["spec"].__setitem__("nodeName", NODE_NAME), SCHEDULER
            )
            context.recorder.record(
                pod,
                EventType.NORMAL,
                "Scheduled",
                f"Successfully assigned {key[0]}/{key[1]} to {NODE_NAME}",
                "default-scheduler",
            )
        elif node != NODE_NAME:
            return
        if (pod.obj.get("status") or {}).get("phase") in TERMINAL:
            self._addresses.release(key)
            return
        started = start_time(pod.obj)
        if started is None:
            await context.write_status(
                pods, pod, creating_status(pod.obj, context.timestamp()), KUBELET
            )
            return
        computed = running_status(pod.obj, started, context.now(), context.settings, context.rules)
        status = computed.status
        if "podIP" not in status:
            ip = self._addresses.allocate(key)
            status["podIP"] = ip
            status["podIPs"] = [{"ip": ip}]
        before = pod.obj.get("status") or {}
        pod = await context.write_status(pods, pod, status, KUBELET)
        for type_, reason, message, path in container_reports(pod.obj, before, status):
            context.recorder.record(
                pod, type_, reason, message, KUBELET, host=NODE_NAME, field_path=path
            )
        if computed.terminal:
            self._addresses.release(key)
        elif computed.next_change is not None:
            context.timers.at(computed.next_change, self.queue, key)

    async def _terminate(self, key: PodKey, pod: Entry) -> None:
        """Stop a deleted Pod's containers, then let the API server remove it."""
        context = self._context
        self._addresses.release(key)
        if (pod.obj.get("spec") or {}).get("nodeName") != NODE_NAME:
            return
        if not pod.metadata.get("deletionGracePeriodSeconds"):
            return  # Only finalizers hold it now; they are not the kubelet's.
        status = pod.obj.get("status") or {}
        if status.get("phase") not in TERMINAL and status.get("startTime"):
            for container in status.get("containerStatuses") or []:
                if "running" in (container.get("state") or {}):
                    name = container.get("name", "")
                    context.recorder.record(
                        pod,
                        EventType.NORMAL,
                        "Killing",
                        f"Stopping container {name}",
                        KUBELET,
                        host=NODE_NAME,
                        field_path=f"spec.containers{{{name}}}",
                    )
            pod = await context.write_status(
                context.kinds.pods, pod, stopped_status(pod.obj, context.timestamp()), KUBELET
            )
        try:
            await context.store.delete(
                context.kinds.pods,
                key[0],
                key[1],
                DeleteOptions(grace_period_seconds=0, uid=pod.metadata.get("uid")),
            )
        except APIError as error:
            if error.code not in (404, 409):
                raise

    async def _unschedulable(self, key: PodKey) -> None:
        pods = self._context.kinds.pods
        pod = self._context.get(pods, *key)
        if pod is None:
            return
        status = dict(pod.obj.get("status") or {})
        status["phase"] = "Pending"
        cond = {
            "lastProbeTime": None,
            **condition(
                "PodScheduled", "False", "Unschedulable", UNSCHEDULABLE, self._context.timestamp()
            ),
        }
        old = [c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"]
        if old and old[0].get("reason") == "Unschedulable":
            return
        status["conditions"] = [cond]
        await self._context.write_status(pods, pod, status, SCHEDULER)
