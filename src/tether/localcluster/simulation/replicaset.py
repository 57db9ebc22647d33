"""The ReplicaSet controller: keep ``spec.replicas`` Pods, report how they are doing.

Missing Pods are created from the template (named ``<replicaset>-<5 characters>``,
controlled by the ReplicaSet with ``blockOwnerDeletion``); surplus Pods are deleted in
the controller's order (unscheduled, pending, not ready, most restarts and newest
first). Finished Pods do not count and are replaced; orphaned Pods the selector matches
are adopted. Each creation and deletion is reported as an Event. The status carries
``replicas``, ``fullyLabeledReplicas``, ``readyReplicas``, ``availableReplicas``
(Ready for ``minReadySeconds``) and ``observedGeneration``.
"""

from __future__ import annotations

from tether.localcluster.loop import WorkQueue
from tether.localcluster.simulation.context import Context, drop_zeros
from tether.localcluster.simulation.events import EventType
from tether.localcluster.simulation.workloads import (
    active,
    available,
    available_at,
    deletion_rank,
    labels_match,
    pod_from_template,
    ready,
)
from tether.localcluster.watch import Event

Key = tuple[str, str]
COMPONENT = "replicaset-controller"


class ReplicaSetController:
    """Reconciles ReplicaSets against their Pods."""

    def __init__(self, context: Context) -> None:
        """Control the ReplicaSets of ``context``'s store."""
        self._context = context
        self.queue: WorkQueue[Key] = WorkQueue("replicaset-controller", self._reconcile)

    def start(self) -> None:
        """Reconcile every ReplicaSet once, then follow events."""
        for entry in self._context.store.objects_of(self._context.kinds.replicasets.key):
            self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark ReplicaSets that changed or whose Pods changed."""
        kinds = self._context.kinds
        if event.resource == kinds.replicasets.key:
            self.queue.add((event.namespace, event.name))
        elif event.resource == kinds.pods.key:
            owner = self._context.owner_of(event.entry)
            if owner is not None and owner[0] == kinds.replicasets.key:
                self.queue.add((owner[1], owner[2]))

    async def _reconcile(self, key: Key) -> None:
        context = self._context
        kinds = context.kinds
        rs = context.get(kinds.replicasets, *key)
        if rs is None:
            return
        spec = rs.obj.get("spec") or {}
        template = spec.get("template") or {}
        uid = rs.metadata["uid"]
        await context.adopt(kinds.pods, rs, spec.get("selector") or {})
        pods = [p for p in context.owned(kinds.pods, key[0], uid) if active(p)]
        desired = int(spec.get("replicas", 1))
        if len(pods) < desired:
            for _ in range(desired - len(pods)):
                created = await context.create(
                    kinds.pods, key[0], pod_from_template(template, rs, generate_name=f"{key[1]}-")
                )
                if created is not None:
                    context.recorder.record(
                        rs,
                        EventType.NORMAL,
                        "SuccessfulCreate",
                        f"Created pod: {created.metadata['name']}",
                        COMPONENT,
                    )
        elif len(pods) > desired:
            for pod in sorted(pods, key=deletion_rank)[: len(pods) - desired]:
                await context.delete(kinds.pods, pod)
                context.recorder.record(
                    rs,
                    EventType.NORMAL,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod.metadata['name']}",
                    COMPONENT,
                )
        rs = context.get(kinds.replicasets, *key)
        if rs is None:
            return
        pods = [p for p in context.owned(kinds.pods, key[0], uid) if active(p)]
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = context.now()
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": sum(1 for p in pods if labels_match(template, p)),
            "readyReplicas": sum(1 for p in pods if ready(p)),
            "availableReplicas": sum(1 for p in pods if available(p, min_ready, now)),
            "observedGeneration": rs.metadata.get("generation", 1),
        }
        status = {"replicas": status["replicas"], **drop_zeros(status, status.keys())}
        await context.write_status(kinds.replicasets, rs, status)
        for pod in pods:
            when = available_at(pod, min_ready)
            if when is not None and when > now:
                context.timers.at(when, self.queue, key)
