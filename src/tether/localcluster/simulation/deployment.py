"""The Deployment controller: ReplicaSets per template, rollouts, status and conditions.

Follows kube-controller-manager's deployment controller:

- orphaned ReplicaSets the selector matches are adopted; the ReplicaSet running the
  current template is the *new* one, named
  ``<deployment>-<pod-template-hash>`` with the hash label on its selector, template
  and Pods; it and the Deployment carry ``deployment.kubernetes.io/revision`` (the
  highest revision plus one when a template is rolled out, an old ReplicaSet
  included on rollback), and it carries ``desired-replicas`` and ``max-replicas``;
- ``RollingUpdate`` scales the new ReplicaSet up within ``maxSurge`` and old ones down
  within ``maxUnavailable`` (unhealthy old Pods first), counting only available Pods;
  ``Recreate`` scales old ReplicaSets to zero, waits for their Pods to go, then scales
  the new one up;
- a paused Deployment is only scaled, and says so (``Progressing`` ``Unknown``,
  ``DeploymentPaused``, then ``DeploymentResumed``); a new replica count during a
  rollout is spread over the ReplicaSets in proportion to their sizes;
- old ReplicaSets beyond ``revisionHistoryLimit`` are deleted once a rollout completes;
- every scaling is reported as a ``ScalingReplicaSet`` Event;
- the status has ``observedGeneration``, ``replicas``, ``updatedReplicas``,
  ``readyReplicas``, ``availableReplicas``, ``unavailableReplicas``, and the
  ``Available`` and ``Progressing`` conditions with the real reasons and messages,
  ``ProgressDeadlineExceeded`` once ``progressDeadlineSeconds`` pass without progress.
"""

from __future__ import annotations

import copy
from typing import Any

from tether.localcluster.loop import WorkQueue
from tether.localcluster.simulation.context import (
    Context,
    controller_ref,
    drop_zeros,
    find_condition,
    reversed_key,
)
from tether.localcluster.simulation.events import EventType
from tether.localcluster.simulation.rollout import (
    DESIRED_REPLICAS,
    HASH_LABEL,
    MAX_REPLICAS,
    REVISION,
    created_key,
    deadline,
    deployment_condition,
    fenceposts,
    max_unavailable,
    newest,
    oldest_first,
    proportion,
    put_condition,
    revision,
    same_template,
    saturated,
    scaling_event,
    spec_replicas,
    status_count,
    template_hash,
    timed_out,
)
from tether.localcluster.simulation.workloads import phase
from tether.localcluster.watch import Entry, Event

Key = tuple[str, str]
COMPONENT = "deployment-controller"
Obj = dict[str, Any]
_COUNTS = (
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
)


class DeploymentController:
    """Rolls Deployments out through ReplicaSets."""

    def __init__(self, context: Context) -> None:
        """Control the Deployments of ``context``'s store."""
        self._context = context
        self.queue: WorkQueue[Key] = WorkQueue("deployment-controller", self._reconcile)

    def start(self) -> None:
        """Reconcile every Deployment once, then follow events."""
        for entry in self._context.store.objects_of(self._context.kinds.deployments.key):
            self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark Deployments that changed or whose ReplicaSets changed."""
        kinds = self._context.kinds
        if event.resource == kinds.deployments.key:
            self.queue.add((event.namespace, event.name))
        elif event.resource == kinds.replicasets.key:
            owner = self._context.owner_of(event.entry)
            if owner is not None and owner[0] == kinds.deployments.key:
                self.queue.add((owner[1], owner[2]))

    # -- reconcile -----------------------------------------------------------------

    async def _reconcile(self, key: Key) -> None:
        context = self._context
        deployment = context.get(context.kinds.deployments, *key)
        if deployment is None:
            return
        spec = deployment.obj.get("spec") or {}
        template = spec.get("template") or {}
        await context.adopt(context.kinds.replicasets, deployment, spec.get("selector") or {})
        owned = [
            rs
            for rs in context.owned(context.kinds.replicasets, key[0], deployment.metadata["uid"])
            if "deletionTimestamp" not in rs.metadata
        ]
        new = next((rs for rs in owned if same_template(template, rs)), None)
        olds = [rs for rs in owned if rs is not new]
        conditions: list[Obj] = list((deployment.obj.get("status") or {}).get("conditions") or [])
        now = context.timestamp()
        paused = bool(spec.get("paused"))
        progressing = find_condition(deployment.obj, "Progressing")
        if paused and (progressing or {}).get("reason") != "DeploymentPaused":
            conditions = put_condition(
                conditions,
                deployment_condition(
                    "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now
                ),
            )
        elif not paused and (progressing or {}).get("reason") == "DeploymentPaused":
            conditions = put_condition(
                conditions,
                deployment_condition(
                    "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now
                ),
            )
        scaling = not paused and scaling_event(spec, new, olds)
        if paused or scaling:
            await self._scale_all(deployment, new, olds)
        elif (spec.get("strategy") or {}).get("type") == "Recreate":
            new, conditions = await self._recreate(deployment, new, olds, conditions)
        else:
            new, conditions = await self._rolling(deployment, new, olds, conditions)
        await self._finish(key, new, conditions, rollout=not (paused or scaling))

    async def _recreate(
        self, deployment: Entry, new: Entry | None, olds: list[Entry], conditions: list[Obj]
    ) -> tuple[Entry | None, list[Obj]]:
        scaled = False
        for rs in olds:
            if spec_replicas(rs) > 0:
                await self._scale(rs, 0, deployment)
                scaled = True
        if scaled or self._old_pods_running(olds):
            return new, conditions
        replicas = int((deployment.obj.get("spec") or {}).get("replicas", 1))
        if new is None:
            return await self._create_new(deployment, olds, replicas, conditions)
        new = await self._adopt_revision(deployment, new, olds)
        if spec_replicas(new) != replicas:
            new = await self._scale(new, replicas, deployment)
        return new, conditions

    def _old_pods_running(self, olds: list[Entry]) -> bool:
        pods = self._context.kinds.pods
        for rs in olds:
            owned = self._context.owned(pods, rs.metadata.get("namespace", ""), rs.metadata["uid"])
            # A Pod being deleted still runs until the kubelet has stopped it.
            if any(phase(p) not in ("Succeeded", "Failed") for p in owned):
                return True
        return False

    async def _rolling(
        self, deployment: Entry, new: Entry | None, olds: list[Entry], conditions: list[Obj]
    ) -> tuple[Entry | None, list[Obj]]:
        spec = deployment.obj.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        surge, _ = fenceposts(spec)
        if new is None:
            current = sum(spec_replicas(rs) for rs in olds)
            wanted = max(min(replicas + surge - current, replicas), 0)
            new, conditions = await self._create_new(deployment, olds, wanted, conditions)
            if new is None:
                return None, conditions
        else:
            new = await self._adopt_revision(deployment, new, olds)
            if not any(c.get("type") == "Progressing" for c in conditions):
                conditions = put_condition(
                    conditions,
                    deployment_condition(
                        "Progressing",
                        "True",
                        "FoundNewReplicaSet",
                        f'Found new replica set "{new.metadata["name"]}"',
                        self._context.timestamp(),
                    ),
                )
        # Scale the new ReplicaSet up, within maxSurge.
        have = spec_replicas(new)
        if have > replicas:
            new = await self._scale(new, replicas, deployment)
        elif have < replicas:
            current = spec_replicas(new) + sum(spec_replicas(rs) for rs in olds)
            room = replicas + surge - current
            if room > 0:
                new = await self._scale(new, have + min(room, replicas - have), deployment)
        await self._scale_down_olds(deployment, new, olds)
        return new, conditions

    async def _scale_down_olds(self, deployment: Entry, new: Entry, olds: list[Entry]) -> None:
        spec = deployment.obj.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        olds = [self._fresh(rs) for rs in oldest_first(olds)]
        if sum(spec_replicas(rs) for rs in olds) == 0:
            return
        all_pods = spec_replicas(new) + sum(spec_replicas(rs) for rs in olds)
        min_available = replicas - max_unavailable(spec)
        new_unavailable = spec_replicas(new) - status_count(new, "availableReplicas")
        budget = all_pods - min_available - new_unavailable
        if budget <= 0:
            return
        # Unhealthy old Pods go first: removing them costs no availability.
        for index, rs in enumerate(olds):
            if budget <= 0:
                break
            unhealthy = spec_replicas(rs) - status_count(rs, "availableReplicas")
            if spec_replicas(rs) == 0 or unhealthy <= 0:
                continue
            cut = min(budget, unhealthy)
            olds[index] = await self._scale(rs, spec_replicas(rs) - cut, deployment)
            budget -= cut
        available = status_count(new, "availableReplicas") + sum(
            min(status_count(rs, "availableReplicas"), spec_replicas(rs)) for rs in olds
        )
        surplus = available - min_available
        for rs in olds:
            if surplus <= 0:
                break
            if spec_replicas(rs) == 0:
                continue
            cut = min(spec_replicas(rs), surplus)
            await self._scale(rs, spec_replicas(rs) - cut, deployment)
            surplus -= cut

    async def _scale_all(self, deployment: Entry, new: Entry | None, olds: list[Entry]) -> None:
        """The controller's ``scale``: a paused Deployment, or a new replica count.

        One active ReplicaSet (or, with none, the newest) takes the whole count; a
        saturated new ReplicaSet leaves the old ones at zero; otherwise the Pods to add
        or remove are spread in proportion to each ReplicaSet's size, the leftover
        going to the largest.
        """
        spec = deployment.obj.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        everything = [rs for rs in [new, *olds] if rs is not None]
        running = [rs for rs in everything if spec_replicas(rs) > 0]
        if len(running) <= 1:
            target = running[0] if running else new or newest(olds)
            if target is not None and spec_replicas(target) != replicas:
                await self._scale(target, replicas, deployment)
            return
        if new is not None and saturated(replicas, new):
            for rs in running:
                if rs is not new:
                    await self._scale(rs, 0, deployment)
            return
        if (spec.get("strategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
            return
        allowed = replicas + fenceposts(spec)[0] if replicas > 0 else 0
        to_add = allowed - sum(spec_replicas(rs) for rs in running)
        # Growing favours the biggest and newest, shrinking the biggest and oldest.
        newest_first = to_add > 0
        ordered = sorted(
            running,
            key=lambda rs: (
                -spec_replicas(rs),
                reversed_key(created_key(rs)) if newest_first else created_key(rs),
            ),
        )
        sizes: dict[str, int] = {}
        added = 0
        for rs in ordered:
            share = proportion(rs, replicas, allowed, to_add, added)
            sizes[rs.metadata["name"]] = spec_replicas(rs) + share
            added += share
        for index, rs in enumerate(ordered):
            size = sizes[rs.metadata["name"]]
            if index == 0 and to_add:
                size = max(size + to_add - added, 0)
            await self._scale(rs, size, deployment)

    # -- writes --------------------------------------------------------------------

    def _fresh(self, rs: Entry) -> Entry:
        found = self._context.get(
            self._context.kinds.replicasets, rs.metadata.get("namespace", ""), rs.metadata["name"]
        )
        return found or rs

    async def _scale(self, rs: Entry, replicas: int, deployment: Entry) -> Entry:
        rs = self._fresh(rs)
        spec = deployment.obj.get("spec") or {}
        wanted = int(spec.get("replicas", 1))
        annotations = {
            DESIRED_REPLICAS: str(wanted),
            MAX_REPLICAS: str(wanted + fenceposts(spec)[0]),
        }

        def change(obj: Obj) -> None:
            obj["spec"]["replicas"] = replicas
            obj["metadata"].setdefault("annotations", {}).update(annotations)

        before = spec_replicas(rs)
        rs = await self._context.update(self._context.kinds.replicasets, rs, change)
        if before != replicas:
            self._scaled(deployment, rs, before, replicas)
        return rs

    def _scaled(self, deployment: Entry, rs: Entry, before: int, after: int) -> None:
        direction = "up" if after > before else "down"
        self._context.recorder.record(
            deployment,
            EventType.NORMAL,
            "ScalingReplicaSet",
            f"Scaled {direction} replica set {rs.metadata['name']} from {before} to {after}",
            COMPONENT,
        )

    async def _create_new(
        self, deployment: Entry, olds: list[Entry], replicas: int, conditions: list[Obj]
    ) -> tuple[Entry | None, list[Obj]]:
        context = self._context
        spec = deployment.obj.get("spec") or {}
        status = deployment.obj.get("status") or {}
        collisions = int(status.get("collisionCount") or 0)
        template = copy.deepcopy(spec.get("template") or {})
        pod_hash = template_hash(template, collisions)
        labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: pod_hash}
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        number = max((revision(rs) for rs in olds), default=0) + 1
        wanted = int(spec.get("replicas", 1))
        name = f"{deployment.metadata['name']}-{pod_hash}"
        rs_spec: Obj = {"replicas": replicas, "selector": selector, "template": template}
        if spec.get("minReadySeconds"):
            rs_spec["minReadySeconds"] = spec["minReadySeconds"]
        obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "labels": labels,
                "annotations": {
                    DESIRED_REPLICAS: str(wanted),
                    MAX_REPLICAS: str(wanted + fenceposts(spec)[0]),
                    REVISION: str(number),
                },
                "ownerReferences": [controller_ref(deployment)],
            },
            "spec": rs_spec,
        }
        namespace = deployment.metadata.get("namespace", "")
        created = await context.create(context.kinds.replicasets, namespace, obj)
        if created is None:
            # The name is taken by a ReplicaSet with another template: a hash collision.
            await context.write_status(
                context.kinds.deployments, deployment, {**status, "collisionCount": collisions + 1}
            )
            return None, conditions
        await self._set_revision(deployment, number)
        if replicas:
            self._scaled(deployment, created, 0, replicas)
        conditions = put_condition(
            conditions,
            deployment_condition(
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                f'Created new replica set "{name}"',
                context.timestamp(),
            ),
            force=True,
        )
        return created, conditions

    async def _adopt_revision(self, deployment: Entry, new: Entry, olds: list[Entry]) -> Entry:
        """A rollback to an old template makes its ReplicaSet the newest revision."""
        highest = max((revision(rs) for rs in olds), default=0)
        number = revision(new)
        if number <= highest:
            number = highest + 1

            def change(obj: Obj) -> None:
                obj["metadata"].setdefault("annotations", {})[REVISION] = str(number)

            new = await self._context.update(self._context.kinds.replicasets, new, change)
        await self._set_revision(deployment, number)
        return new

    async def _set_revision(self, deployment: Entry, number: int) -> None:
        current = self._context.get(
            self._context.kinds.deployments,
            deployment.metadata.get("namespace", ""),
            deployment.metadata["name"],
        )
        if current is None or revision(current) == number:
            return

        def change(obj: Obj) -> None:
            obj["metadata"].setdefault("annotations", {})[REVISION] = str(number)

        await self._context.update(self._context.kinds.deployments, current, change)

    # -- status --------------------------------------------------------------------

    async def _finish(
        self, key: Key, new: Entry | None, conditions: list[Obj], *, rollout: bool
    ) -> None:
        context = self._context
        deployment = context.get(context.kinds.deployments, *key)
        if deployment is None:
            return
        spec = deployment.obj.get("spec") or {}
        old_status: Obj = deployment.obj.get("status") or {}
        owned = [
            rs
            for rs in context.owned(context.kinds.replicasets, key[0], deployment.metadata["uid"])
            if "deletionTimestamp" not in rs.metadata
        ]
        new = next(
            (rs for rs in owned if new is not None and rs.metadata["uid"] == new.metadata["uid"]),
            None,
        )
        replicas = int(spec.get("replicas", 1))
        available = sum(status_count(rs, "availableReplicas") for rs in owned)
        status: Obj = {
            "observedGeneration": deployment.metadata.get("generation", 1),
            "replicas": sum(status_count(rs, "replicas") for rs in owned),
            "updatedReplicas": status_count(new, "replicas") if new is not None else 0,
            "readyReplicas": sum(status_count(rs, "readyReplicas") for rs in owned),
            "availableReplicas": available,
            "unavailableReplicas": max(sum(spec_replicas(rs) for rs in owned) - available, 0),
        }
        if old_status.get("collisionCount"):
            status["collisionCount"] = old_status["collisionCount"]
        now = context.timestamp()
        if available >= replicas - max_unavailable(spec):
            avail = deployment_condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now,
            )
        else:
            avail = deployment_condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            )
        conditions = put_condition(conditions, avail)
        if rollout:
            conditions = self._progress(spec, old_status, status, new, conditions, now)
        status = drop_zeros(status, _COUNTS)
        status["conditions"] = conditions
        deployment = await context.write_status(context.kinds.deployments, deployment, status)
        complete = _complete(spec, status, deployment)
        if complete:
            await self._clean_up(spec, [rs for rs in owned if rs is not new])
        when = deadline(
            find_condition(deployment.obj, "Progressing"), spec.get("progressDeadlineSeconds")
        )
        if when is not None and not spec.get("paused"):
            context.timers.at(when, self.queue, key)

    def _progress(
        self,
        spec: Obj,
        old: Obj,
        new_status: Obj,
        new: Entry | None,
        conditions: list[Obj],
        now: str,
    ) -> list[Obj]:
        """``syncRolloutStatus``: complete, progressing, or timed out."""
        progressing = next((c for c in conditions if c.get("type") == "Progressing"), None)
        deadline_seconds = spec.get("progressDeadlineSeconds")
        if deadline_seconds is None:
            return conditions
        if (
            new_status["replicas"] == new_status["updatedReplicas"]
            and (progressing or {}).get("reason") == "NewReplicaSetAvailable"
        ):
            return conditions
        name = new.metadata["name"] if new is not None else ""
        replicas = int(spec.get("replicas", 1))
        if (
            new_status["updatedReplicas"] == replicas
            and new_status["replicas"] == replicas
            and new_status["availableReplicas"] == replicas
        ):
            message = f'ReplicaSet "{name}" has successfully progressed.'
            return put_condition(
                conditions,
                deployment_condition("Progressing", "True", "NewReplicaSetAvailable", message, now),
            )
        old_olds = int(old.get("replicas") or 0) - int(old.get("updatedReplicas") or 0)
        new_olds = new_status["replicas"] - new_status["updatedReplicas"]
        moved = (
            new_status["updatedReplicas"] > int(old.get("updatedReplicas") or 0)
            or new_olds < old_olds
            or new_status["readyReplicas"] > int(old.get("readyReplicas") or 0)
            or new_status["availableReplicas"] > int(old.get("availableReplicas") or 0)
        )
        if moved:
            message = f'ReplicaSet "{name}" is progressing.'
            return put_condition(
                conditions,
                deployment_condition("Progressing", "True", "ReplicaSetUpdated", message, now),
                force=True,
            )
        if timed_out(progressing, deadline_seconds, self._context.now()):
            message = f'ReplicaSet "{name}" has timed out progressing.'
            return put_condition(
                conditions,
                deployment_condition(
                    "Progressing", "False", "ProgressDeadlineExceeded", message, now
                ),
            )
        return conditions

    async def _clean_up(self, spec: Obj, olds: list[Entry]) -> None:
        limit = spec.get("revisionHistoryLimit")
        if limit is None:
            return
        idle = [
            rs
            for rs in olds
            if spec_replicas(rs) == 0
            and status_count(rs, "replicas") == 0
            and int(rs.metadata.get("generation", 1)) <= status_count(rs, "observedGeneration")
        ]
        for rs in sorted(idle, key=revision)[: max(len(idle) - int(limit), 0)]:
            await self._context.delete(self._context.kinds.replicasets, rs)


def _complete(spec: Obj, status: Obj, deployment: Entry) -> bool:
    replicas = int(spec.get("replicas", 1))
    return all(
        int(status.get(n) or 0) == replicas
        for n in ("updatedReplicas", "replicas", "availableReplicas")
    ) and int(status.get("observedGeneration") or 0) >= int(
        deployment.metadata.get("generation", 1)
    )
