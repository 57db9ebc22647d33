"""HorizontalPodAutoscalers without metrics: replica bounds enforced, status reported.

The local cluster runs no metrics server, so an autoscaler behaves as a real one does
when metrics are missing: it keeps its target within ``minReplicas``..``maxReplicas``
(scaling it when outside, ``lastScaleTime`` then set), reports ``currentReplicas`` and
``desiredReplicas``, and its conditions say why it does not scale on metrics:
``AbleToScale`` (``SucceededGetScale``, ``SucceededRescale`` or ``FailedGetScale``
when the target is missing), ``ScalingActive`` ``False`` with
``FailedGetResourceMetric`` (or ``ScalingDisabled`` for a target at zero), and
``ScalingLimited`` when a bound applied.
"""

from __future__ import annotations

from typing import Any

from tether.localcluster.loop import WorkQueue
from tether.localcluster.simulation.context import Context, condition, set_condition
from tether.localcluster.simulation.events import EventType
from tether.localcluster.watch import Entry, Event

Key = tuple[str, str]
Obj = dict[str, Any]


def _metric_failure(spec: Obj) -> str:
    metrics = spec.get("metrics") or [{"type": "Resource", "resource": {"name": "cpu"}}]
    first = metrics[0] if isinstance(metrics[0], dict) else {}
    if first.get("type") == "Resource":
        name = (first.get("resource") or {}).get("name", "cpu")
        return (
            "the HPA was unable to compute the replica count: "
            f"failed to get {name} utilization: unable to get metrics for resource {name}: "
            "no metrics returned from resource metrics API"
        )
    return (
        "the HPA was unable to compute the replica count: "
        "unable to get metrics: no metrics API available"
    )


class AutoscalerController:
    """Keeps autoscalers' targets within bounds and their status current."""

    def __init__(self, context: Context) -> None:
        """Control the autoscalers of ``context``'s store."""
        self._context = context
        self.queue: WorkQueue[Key] = WorkQueue("horizontal-pod-autoscaler", self._reconcile)

    def start(self) -> None:
        """Reconcile every autoscaler once, then follow events."""
        for entry in self._context.store.objects_of(self._context.kinds.hpas.key):
            self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark autoscalers that changed or whose target changed."""
        kinds = self._context.kinds
        if event.resource == kinds.hpas.key:
            self.queue.add((event.namespace, event.name))
        elif event.resource in (
            kinds.deployments.key,
            kinds.statefulsets.key,
            kinds.replicasets.key,
        ):
            for hpa in self._context.store.list(kinds.hpas, event.namespace).entries:
                ref = (hpa.obj.get("spec") or {}).get("scaleTargetRef") or {}
                if ref.get("name") == event.name:
                    self.queue.add((event.namespace, hpa.metadata["name"]))

    def _target(self, namespace: str, ref: Obj) -> tuple[Entry | None, str]:
        rtype = self._context.store.registry.for_kind(
            str(ref.get("apiVersion", "")), str(ref.get("kind", ""))
        )
        if rtype is None or rtype.scale is None:
            plural = f"{str(ref.get('kind', '')).lower()}s"
            return None, plural
        return self._context.get(rtype, namespace, str(ref.get("name", ""))), rtype.plural

    async def _reconcile(self, key: Key) -> None:
        context = self._context
        kinds = context.kinds
        hpa = context.get(kinds.hpas, *key)
        if hpa is None:
            return
        spec = hpa.obj.get("spec") or {}
        old: Obj = hpa.obj.get("status") or {}
        conditions: list[Obj] = list(old.get("conditions") or [])
        now = context.timestamp()
        ref = spec.get("scaleTargetRef") or {}
        target, plural = self._target(key[0], ref)
        if target is None:
            group = str(ref.get("apiVersion", "")).rpartition("/")[0]
            resource = f"{plural}/scale" + (f".{group}" if group else "")
            message = (
                "the HPA controller was unable to get the target's current scale: "
                f'{resource} "{ref.get("name", "")}" not found'
            )
            conditions = set_condition(
                conditions, condition("AbleToScale", "False", "FailedGetScale", message, now)
            )
            missing = {"conditions": conditions, "currentReplicas": 0, "desiredReplicas": 0}
            await context.write_status(kinds.hpas, hpa, {**old, **missing})
            return
        current = int((target.obj.get("spec") or {}).get("replicas", 1))
        low = int(spec.get("minReplicas", 1))
        high = int(spec.get("maxReplicas", low))
        able = condition(
            "AbleToScale",
            "True",
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
            now,
        )
        limited = condition(
            "ScalingLimited",
            "False",
            "DesiredWithinRange",
            "the desired count is within the acceptable range",
            now,
        )
        if current == 0 and low != 0:
            desired = 0
            active = condition(
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
                now,
            )
        else:
            active = condition(
                "ScalingActive", "False", "FailedGetResourceMetric", _metric_failure(spec), now
            )
            desired = min(max(current, low), high)
            if current > high:
                limited = condition(
                    "ScalingLimited",
                    "True",
                    "TooManyReplicas",
                    "the desired replica count is more than the maximum replica count",
                    now,
                )
            elif current < low:
                limited = condition(
                    "ScalingLimited",
                    "True",
                    "TooFewReplicas",
                    "the desired replica count is less than the minimum replica count",
                    now,
                )
        status: Obj = {k: v for k, v in old.items() if k == "lastScaleTime"}
        if desired != current and current != 0:
            rtype = context.store.registry.for_kind(
                str(ref.get("apiVersion", "")), str(ref.get("kind", ""))
            )
            if rtype is not None:
                await context.update(
                    rtype, target, lambda obj: obj["spec"].__setitem__("replicas", desired)
                )
                bound = "below Spec.MinReplicas" if desired > current else "above Spec.MaxReplicas"
                context.recorder.record(
                    hpa,
                    EventType.NORMAL,
                    "SuccessfulRescale",
                    f"New size: {desired}; reason: Current number of replicas {bound}",
                    "horizontal-pod-autoscaler",
                )
                able = condition(
                    "AbleToScale",
                    "True",
                    "SucceededRescale",
                    f"the HPA controller was able to update the target scale to {desired}",
                    now,
                )
                status["lastScaleTime"] = now
        for new in (able, active, limited):
            conditions = set_condition(conditions, new)
        status.update(
            {"conditions": conditions, "currentReplicas": current, "desiredReplicas": desired}
        )
        await context.write_status(kinds.hpas, hpa, status)
