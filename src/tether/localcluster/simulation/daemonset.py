"""The DaemonSet controller: one Pod on the one node.

The node runs a DaemonSet's Pod when it satisfies the template's ``nodeSelector``.
The Pod (``<name>-<5 characters>``) is pinned to ``local-node`` by node affinity,
carries the daemon tolerations, the ``controller-revision-hash`` of its template's
ControllerRevision and ``pod-template-generation``. ``RollingUpdate`` replaces a Pod
of an old revision; ``OnDelete`` waits for it to be deleted. The status has
``desiredNumberScheduled``, ``currentNumberScheduled``, ``numberMisscheduled``,
``numberReady``, ``numberAvailable``, ``numberUnavailable``,
``updatedNumberScheduled`` and ``observedGeneration``.
"""

from __future__ import annotations

from typing import Any

from tether.localcluster.loop import WorkQueue
from tether.localcluster.simulation.context import Context
from tether.localcluster.simulation.events import EventType
from tether.localcluster.simulation.node import NODE_NAME, fits
from tether.localcluster.simulation.revisions import REVISION_LABEL, ensure_revision, trim_revisions
from tether.localcluster.simulation.workloads import (
    active,
    available,
    available_at,
    phase,
    pod_from_template,
    ready,
)
from tether.localcluster.watch import Entry, Event

Key = tuple[str, str]
Obj = dict[str, Any]
GENERATION_LABEL = "pod-template-generation"
COMPONENT = "daemonset-controller"

#: The tolerations the DaemonSet controller adds to every daemon Pod.
DAEMON_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists"},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/disk-pressure", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/memory-pressure", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/pid-pressure", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable", "operator": "Exists"},
]


def _node_affinity() -> Obj:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchFields": [
                            {"key": "metadata.name", "operator": "In", "values": [NODE_NAME]}
                        ]
                    }
                ]
            }
        }
    }


class DaemonSetController:
    """Runs each DaemonSet's Pod on ``local-node``."""

    def __init__(self, context: Context) -> None:
        """Control the DaemonSets of ``context``'s store."""
        self._context = context
        self.queue: WorkQueue[Key] = WorkQueue("daemonset-controller", self._reconcile)

    def start(self) -> None:
        """Reconcile every DaemonSet once, then follow events."""
        for entry in self._context.store.objects_of(self._context.kinds.daemonsets.key):
            self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark DaemonSets that changed or whose Pods changed."""
        kinds = self._context.kinds
        if event.resource == kinds.daemonsets.key:
            self.queue.add((event.namespace, event.name))
        elif event.resource == kinds.pods.key:
            owner = self._context.owner_of(event.entry)
            if owner is not None and owner[0] == kinds.daemonsets.key:
                self.queue.add((owner[1], owner[2]))

    async def _reconcile(self, key: Key) -> None:
        context = self._context
        kinds = context.kinds
        ds = context.get(kinds.daemonsets, *key)
        if ds is None:
            return
        spec = ds.obj.get("spec") or {}
        template = spec.get("template") or {}
        await context.adopt(kinds.pods, ds, spec.get("selector") or {})
        revision, revisions = await ensure_revision(context, ds, template)
        runs_here = fits(template.get("spec") or {})
        pods = [
            p
            for p in context.owned(kinds.pods, key[0], ds.metadata["uid"])
            if active(p) or phase(p) == "Failed"
        ]
        rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
        for pod in pods:
            outdated = (pod.metadata.get("labels") or {}).get(REVISION_LABEL) != revision.metadata[
                "name"
            ]
            if phase(pod) == "Failed" or not runs_here or (rolling and outdated):
                await context.delete(kinds.pods, pod)
                self._report(ds, "SuccessfulDelete", f"Deleted pod: {pod.metadata['name']}")
        pods = [p for p in context.owned(kinds.pods, key[0], ds.metadata["uid"]) if active(p)]
        if runs_here and not pods:
            new_pod = pod_from_template(
                template,
                ds,
                generate_name=f"{key[1]}-",
                labels={
                    REVISION_LABEL: revision.metadata["name"],
                    GENERATION_LABEL: str(ds.metadata.get("generation", 1)),
                },
            )
            new_pod["spec"]["affinity"] = _node_affinity()
            existing = new_pod["spec"].get("tolerations") or []
            new_pod["spec"]["tolerations"] = existing + [
                t for t in DAEMON_TOLERATIONS if t not in existing
            ]
            created = await context.create(kinds.pods, key[0], new_pod)
            if created is not None:
                self._report(ds, "SuccessfulCreate", f"Created pod: {created.metadata['name']}")
        await self._status(key, revision.metadata["name"], 1 if runs_here else 0)
        await trim_revisions(
            context,
            revisions,
            {revision.metadata["name"]},
            int(spec.get("revisionHistoryLimit", 10)),
        )

    def _report(self, ds: Entry, reason: str, message: str) -> None:
        self._context.recorder.record(ds, EventType.NORMAL, reason, message, COMPONENT)

    async def _status(self, key: Key, revision: str, desired: int) -> None:
        context = self._context
        kinds = context.kinds
        ds = context.get(kinds.daemonsets, *key)
        if ds is None:
            return
        spec = ds.obj.get("spec") or {}
        pods = [p for p in context.owned(kinds.pods, key[0], ds.metadata["uid"]) if active(p)]
        scheduled = [p for p in pods if (p.obj.get("spec") or {}).get("nodeName") == NODE_NAME]
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = context.now()
        number_available = sum(1 for p in scheduled if available(p, min_ready, now))
        status: Obj = {
            "currentNumberScheduled": len(scheduled),
            "desiredNumberScheduled": desired,
            "numberAvailable": number_available,
            "numberMisscheduled": 0,
            "numberReady": sum(1 for p in scheduled if ready(p)),
            "numberUnavailable": max(desired - number_available, 0),
            "observedGeneration": ds.metadata.get("generation", 1),
            "updatedNumberScheduled": sum(
                1
                for p in scheduled
                if (p.metadata.get("labels") or {}).get(REVISION_LABEL) == revision
            ),
        }
        for name in ("numberAvailable", "numberUnavailable", "updatedNumberScheduled"):
            if status[name] == 0:
                del status[name]
        await context.write_status(kinds.daemonsets, ds, status)
        for pod in scheduled:
            when = available_at(pod, min_ready)
            if when is not None and when > now:
                context.timers.at(when, self.queue, key)
