"""The StatefulSet controller: ordered, named Pods with their own claims.

As kube-controller-manager's StatefulSet controller:

- Pods are ``<name>-0`` .. ``<name>-(n-1)``, labelled with their
  ``controller-revision-hash``, ``statefulset.kubernetes.io/pod-name`` and
  ``apps.kubernetes.io/pod-index``, with ``hostname`` and ``subdomain``
  (``serviceName``); each ``volumeClaimTemplates`` entry becomes the claim
  ``<template>-<name>-<ordinal>``, created before its Pod;
- ``OrderedReady`` creates Pods one at a time, each once the one before is Running
  and Ready, and removes surplus Pods from the highest ordinal, one at a time;
  ``Parallel`` does both at once;
- templates are stored as ControllerRevisions; ``currentRevision`` and
  ``updateRevision`` name them. ``RollingUpdate`` replaces Pods from the highest
  ordinal down to ``partition``, one at a time, each once every Pod is Ready; Pods
  below the partition are (re)created at the current revision. ``OnDelete`` replaces
  nothing: a Pod deleted by hand comes back at the update revision;
- the status has ``replicas``, ``readyReplicas``, ``availableReplicas``,
  ``currentReplicas``, ``updatedReplicas``, the two revisions, ``collisionCount`` and
  ``observedGeneration``; when every Pod runs the update revision, it becomes current.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from tether.localcluster.loop import WorkQueue
from tether.localcluster.simulation.context import Context, controller_ref
from tether.localcluster.simulation.events import EventType
from tether.localcluster.simulation.revisions import (
    REVISION_LABEL,
    ensure_revision,
    stored_template,
    trim_revisions,
)
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
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
COMPONENT = "statefulset-controller"


@dataclass(frozen=True)
class Policy:
    """How a StatefulSet wants its Pods managed."""

    replicas: int
    #: ``OrderedReady``: one Pod at a time, each once the one before is Ready.
    ordered: bool
    #: ``RollingUpdate`` (else ``OnDelete``).
    rolling: bool
    #: Pods below this ordinal stay at the current revision.
    partition: int

    @classmethod
    def of(cls, spec: Obj) -> Policy:
        """The policy of a StatefulSet's ``spec``."""
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        return cls(
            replicas=int(spec.get("replicas", 1)),
            ordered=spec.get("podManagementPolicy", "OrderedReady") != "Parallel",
            rolling=rolling,
            partition=partition if rolling else 0,
        )


def _ordinal(sts_name: str, pod: Entry) -> int | None:
    match = re.fullmatch(re.escape(sts_name) + r"-(\d+)", pod.metadata["name"])
    return int(match.group(1)) if match else None


def _healthy(pod: Entry) -> bool:
    return phase(pod) == "Running" and ready(pod)


class StatefulSetController:
    """Keeps StatefulSets' ordered Pods and claims."""

    def __init__(self, context: Context) -> None:
        """Control the StatefulSets of ``context``'s store."""
        self._context = context
        self.queue: WorkQueue[Key] = WorkQueue("statefulset-controller", self._reconcile)

    def start(self) -> None:
        """Reconcile every StatefulSet once, then follow events."""
        for entry in self._context.store.objects_of(self._context.kinds.statefulsets.key):
            self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark StatefulSets that changed or whose Pods changed."""
        kinds = self._context.kinds
        if event.resource == kinds.statefulsets.key:
            self.queue.add((event.namespace, event.name))
        elif event.resource == kinds.pods.key:
            owner = self._context.owner_of(event.entry)
            if owner is not None and owner[0] == kinds.statefulsets.key:
                self.queue.add((owner[1], owner[2]))

    async def _reconcile(self, key: Key) -> None:
        context = self._context
        kinds = context.kinds
        sts = context.get(kinds.statefulsets, *key)
        if sts is None:
            return
        spec = sts.obj.get("spec") or {}
        status: Obj = sts.obj.get("status") or {}
        template = spec.get("template") or {}
        update, revisions = await ensure_revision(context, sts, template)
        by_name = {r.metadata["name"]: r for r in revisions}
        current = by_name.get(status.get("currentRevision", ""), update)
        policy = Policy.of(spec)

        await context.adopt(kinds.pods, sts, spec.get("selector") or {})
        pods: dict[int, Entry] = {}
        for pod in context.owned(kinds.pods, key[0], sts.metadata["uid"]):
            ordinal = _ordinal(key[1], pod)
            if ordinal is not None and "deletionTimestamp" not in pod.metadata:
                pods[ordinal] = pod
        # Failed Pods are replaced.
        for ordinal, pod in list(pods.items()):
            if phase(pod) == "Failed":
                await self._delete_pod(sts, pod)
                del pods[ordinal]
        # Create the missing Pods in order.
        for ordinal in range(policy.replicas):
            existing = pods.get(ordinal)
            if existing is None:
                revision = current if ordinal < policy.partition else update
                await self._claims(sts, spec, ordinal)
                created = await context.create(
                    kinds.pods, key[0], self._pod(sts, spec, ordinal, revision)
                )
                if created is not None:
                    pods[ordinal] = created
                    self._report(
                        sts,
                        "SuccessfulCreate",
                        f"create Pod {created.metadata['name']} in StatefulSet {key[1]} successful",
                    )
                if policy.ordered:
                    break
            elif policy.ordered and not _healthy(existing):
                break
        else:
            await self._shrink_or_roll(sts, pods, policy, update)
        await self._status(key, sts, update, current, revisions)

    async def _shrink_or_roll(
        self, sts: Entry, pods: dict[int, Entry], policy: Policy, update: Entry
    ) -> None:
        """Remove surplus Pods, else replace the highest outdated one, as the policy allows."""
        surplus = sorted((o for o in pods if o >= policy.replicas), reverse=True)
        if surplus:
            for ordinal in surplus:
                if policy.ordered and not all(_healthy(p) for o, p in pods.items() if o < ordinal):
                    return
                await self._delete_pod(sts, pods[ordinal])
                if policy.ordered:
                    return
            return
        if not policy.rolling or not all(_healthy(p) for p in pods.values()):
            return
        for ordinal in range(policy.replicas - 1, policy.partition - 1, -1):
            pod = pods.get(ordinal)
            if (
                pod is not None
                and (pod.metadata.get("labels") or {}).get(REVISION_LABEL)
                != update.metadata["name"]
            ):
                await self._delete_pod(sts, pod)
                return

    def _report(self, sts: Entry, reason: str, message: str) -> None:
        self._context.recorder.record(sts, EventType.NORMAL, reason, message, COMPONENT)

    async def _delete_pod(self, sts: Entry, pod: Entry) -> None:
        await self._context.delete(self._context.kinds.pods, pod)
        self._report(
            sts,
            "SuccessfulDelete",
            f"delete Pod {pod.metadata['name']} in StatefulSet {sts.metadata['name']} successful",
        )

    def _pod(self, sts: Entry, spec: Obj, ordinal: int, revision: Entry) -> Obj:
        name = f"{sts.metadata['name']}-{ordinal}"
        pod = pod_from_template(
            stored_template(revision),
            sts,
            name=name,
            labels={
                REVISION_LABEL: revision.metadata["name"],
                POD_NAME_LABEL: name,
                POD_INDEX_LABEL: str(ordinal),
            },
        )
        pod_spec = pod["spec"]
        pod_spec["hostname"] = name
        if spec.get("serviceName"):
            pod_spec["subdomain"] = spec["serviceName"]
        volumes = [v for v in pod_spec.get("volumes") or [] if isinstance(v, dict)]
        for claim in spec.get("volumeClaimTemplates") or []:
            claim_name = (claim.get("metadata") or {}).get("name", "")
            volumes = [v for v in volumes if v.get("name") != claim_name]
            volumes.append(
                {
                    "name": claim_name,
                    "persistentVolumeClaim": {"claimName": f"{claim_name}-{name}"},
                }
            )
        if volumes:
            pod_spec["volumes"] = volumes
        return pod

    async def _claims(self, sts: Entry, spec: Obj, ordinal: int) -> None:
        context = self._context
        namespace = sts.metadata.get("namespace", "")
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
        for claim in spec.get("volumeClaimTemplates") or []:
            meta = claim.get("metadata") or {}
            name = f"{meta.get('name', '')}-{sts.metadata['name']}-{ordinal}"
            if context.store.lookup(context.kinds.pvcs, namespace, name) is not None:
                continue
            metadata: Obj = {"name": name, "labels": {**selector, **(meta.get("labels") or {})}}
            if meta.get("annotations"):
                metadata["annotations"] = dict(meta["annotations"])
            if retention.get("whenDeleted") == "Delete":
                metadata["ownerReferences"] = [{**controller_ref(sts), "controller": True}]
            obj = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": metadata,
                "spec": copy.deepcopy(claim.get("spec") or {}),
            }
            if await context.create(context.kinds.pvcs, namespace, obj) is not None:
                pod_name = f"{sts.metadata['name']}-{ordinal}"
                self._report(
                    sts,
                    "SuccessfulCreate",
                    f"create Claim {name} Pod {pod_name} in StatefulSet "
                    f"{sts.metadata['name']} success",
                )

    async def _status(
        self, key: Key, sts: Entry, update: Entry, current: Entry, revisions: list[Entry]
    ) -> None:
        context = self._context
        kinds = context.kinds
        fresh = context.get(kinds.statefulsets, *key)
        if fresh is None:
            return
        spec = fresh.obj.get("spec") or {}
        pods = [p for p in context.owned(kinds.pods, key[0], fresh.metadata["uid"]) if active(p)]
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = context.now()

        def at(revision: Entry) -> int:
            name = revision.metadata["name"]
            return sum(
                1 for p in pods if (p.metadata.get("labels") or {}).get(REVISION_LABEL) == name
            )

        replicas = len(pods)
        ready_count = sum(1 for p in pods if ready(p))
        updated = at(update)
        current_name, current_count = current.metadata["name"], at(current)
        if (
            updated == replicas
            and ready_count == replicas
            and replicas == int(spec.get("replicas", 1))
        ):
            current_name, current_count = update.metadata["name"], updated
        status: Obj = {
            "availableReplicas": sum(1 for p in pods if available(p, min_ready, now)),
            "collisionCount": int((fresh.obj.get("status") or {}).get("collisionCount") or 0),
            "currentReplicas": current_count,
            "currentRevision": current_name,
            "observedGeneration": fresh.metadata.get("generation", 1),
            "readyReplicas": ready_count,
            "replicas": replicas,
            "updateRevision": update.metadata["name"],
            "updatedReplicas": updated,
        }
        for name in ("currentReplicas", "readyReplicas", "updatedReplicas"):
            if status[name] == 0:
                del status[name]
        await context.write_status(kinds.statefulsets, fresh, status)
        in_use = {current_name, update.metadata["name"]} | {
            str((p.metadata.get("labels") or {}).get(REVISION_LABEL)) for p in pods
        }
        await trim_revisions(context, revisions, in_use, int(spec.get("revisionHistoryLimit", 10)))
        for pod in pods:
            when = available_at(pod, min_ready)
            if when is not None and when > now:
                context.timers.at(when, self.queue, key)
