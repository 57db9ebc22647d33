"""A Pod's status as the kubelet reports it, computed from its spec and its start time.

:func:`creating_status` is the first status the kubelet posts for a Pod it admits
(``startTime``, ``hostIP``, containers waiting in ``ContainerCreating``);
:func:`running_status` is every later one: init containers run one after the other,
then the containers, each following :func:`~tether.localcluster.simulation.containers.simulate`;
sidecars (init containers with ``restartPolicy: Always``) start in their turn and keep
running.
The phase, the five conditions and ``qosClass`` follow from the containers as the
kubelet derives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tether.localcluster.simulation.clock import format_time, parse_time
from tether.localcluster.simulation.containers import (
    Run,
    Start,
    container_id,
    image_id,
    normalise_image,
    simulate,
)
from tether.localcluster.simulation.context import condition, set_condition
from tether.localcluster.simulation.failures import FailureRules
from tether.localcluster.simulation.node import NODE_IP
from tether.localcluster.simulation.settings import Settings

Obj = dict[str, Any]

#: The order in which the kubelet lists a Pod's conditions.
CONDITION_ORDER = (
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
)


#: A container that waits for the init containers before it.
_NOT_STARTED = Run({"waiting": {"reason": "PodInitializing"}}, {}, 0, False, None, None, None, None)


@dataclass(frozen=True)
class PodStatus:
    """A computed status and when it next changes."""

    status: Obj
    next_change: datetime | None

    @property
    def terminal(self) -> bool:
        """Whether the Pod has finished (``Succeeded`` or ``Failed``)."""
        return self.status.get("phase") in ("Succeeded", "Failed")


def qos_class(spec: Obj) -> str:
    """``Guaranteed``, ``Burstable`` or ``BestEffort``, as the API server computes it."""
    containers = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        limits = resources.get("limits") or {}
        requests = {**limits, **(resources.get("requests") or {})}
        if limits or requests:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or str(requests.get(name)) != str(limits[name]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def scheduled_condition(now: str) -> Obj:
    """``PodScheduled`` as the scheduler sets it on binding."""
    return {
        "lastProbeTime": None,
        "type": "PodScheduled",
        "status": "True",
        "lastTransitionTime": now,
    }


def _waiting(container: Obj, reason: str) -> Obj:
    return {
        "image": normalise_image(str(container.get("image", ""))),
        "imageID": "",
        "lastState": {},
        "name": container.get("name", ""),
        "ready": False,
        "restartCount": 0,
        "started": False,
        "state": {"waiting": {"reason": reason}},
    }


def creating_status(pod: Obj, now: str) -> Obj:
    """The kubelet's first status for a Pod it admits: sandbox and containers being created."""
    spec = pod.get("spec") or {}
    inits = spec.get("initContainers") or []
    containers = spec.get("containers") or []
    status: Obj = {
        "conditions": [
            condition("PodReadyToStartContainers", "False", "", "", now),
            _initialized(inits, None, now),
            condition("Ready", "False", "ContainersNotReady", _unready(containers), now),
            condition("ContainersReady", "False", "ContainersNotReady", _unready(containers), now),
            scheduled_condition(now),
        ],
        "containerStatuses": [
            _waiting(c, "PodInitializing" if inits else "ContainerCreating") for c in containers
        ],
        "hostIP": NODE_IP,
        "hostIPs": [{"ip": NODE_IP}],
        "observedGeneration": pod["metadata"].get("generation", 1),
        "phase": "Pending",
        "qosClass": qos_class(spec),
        "startTime": now,
    }
    if inits:
        status["initContainerStatuses"] = [_waiting(c, "ContainerCreating") for c in inits]
    status["conditions"] = [_clean(c) for c in status["conditions"]]
    return status


def _clean(cond: Obj) -> Obj:
    """A Pod condition as the kubelet writes it: ``lastProbeTime: null``, no empty fields."""
    return {"lastProbeTime": None, **{k: v for k, v in cond.items() if v != ""}}


def _unready(containers: list[Obj], names: list[str] | None = None) -> str:
    listed = names if names is not None else [str(c.get("name", "")) for c in containers]
    return f"containers with unready status: [{' '.join(listed)}]"


def _initialized(inits: list[Obj], pending: list[str] | None, now: str) -> Obj:
    if not inits or pending == []:
        return condition("Initialized", "True", "", "", now)
    names = pending if pending is not None else [str(c.get("name", "")) for c in inits]
    return condition(
        "Initialized",
        "False",
        "ContainersNotInitialized",
        f"containers with incomplete status: [{' '.join(names)}]",
        now,
    )


def _container_status(container: Obj, run: Run, pod_uid: str) -> Obj:
    image = str(container.get("image", ""))
    started = "waiting" not in run.state or run.restarts > 0
    status: Obj = {
        "image": normalise_image(image),
        "imageID": image_id(image) if started else "",
        "lastState": run.last_state,
        "name": container.get("name", ""),
        "ready": run.ready_since is not None,
        "restartCount": run.restarts,
        "started": run.started,
        "state": run.state,
    }
    if started:
        status = {
            "containerID": container_id(pod_uid, str(container.get("name", "")), run.restarts),
            **status,
        }
    return status


def running_status(
    pod: Obj, started: datetime, now: datetime, settings: Settings, rules: FailureRules
) -> PodStatus:
    """The Pod's status at ``now``, its sandbox having been created at ``started``."""
    meta = pod["metadata"]
    spec = pod.get("spec") or {}
    old: Obj = pod.get("status") or {}
    policy = str(spec.get("restartPolicy") or "Always")
    completes = policy != "Always"
    pod_ref = f"{meta['name']}_{meta.get('namespace', '')}({meta.get('uid', '')})"
    uid = str(meta.get("uid", ""))
    changes: list[datetime] = []

    def run(container: Obj, begins: datetime, to_completion: bool, restarts: str) -> Run:
        start = Start(
            container, rules.fate(container), restarts, to_completion, uid, pod_ref, begins
        )
        result = simulate(start, now, settings)
        if result.next_change is not None:
            changes.append(result.next_change)
        return result

    # Init containers run one after the other; a failed one stops the Pod (``Never``)
    # or holds it in its crash loop. A sidecar (an init container with
    # ``restartPolicy: Always``) keeps running: the next one starts once it has started.
    inits = spec.get("initContainers") or []
    init_runs: list[Run] = []
    sidecars: list[tuple[Obj, Run]] = []
    begins: datetime | None = started
    for container in inits:
        if begins is None:
            init_runs.append(_NOT_STARTED)
            continue
        if _is_sidecar(container):
            result = run(container, begins, False, "Always")
            sidecars.append((container, result))
            begins = begins if result.started else None
        else:
            result = run(container, begins, True, policy)
            begins = result.finished if result.exit_code == 0 else None
        init_runs.append(result)
    containers = spec.get("containers") or []
    init_failed = any(r.exit_code not in (None, 0) for r in init_runs)
    if begins is None:
        runs = [_NOT_STARTED for _ in containers]
    else:
        runs = [run(c, begins, completes, policy) for c in containers]

    phase = _phase(runs, init_failed, policy)
    stamp = format_time(now)
    conditions: list[Obj] = list(old.get("conditions") or [])
    terminal = phase in ("Succeeded", "Failed")
    why = "PodCompleted" if phase == "Succeeded" else "PodFailed"
    sandbox = condition("PodReadyToStartContainers", "False" if terminal else "True", "", "", stamp)
    pending_inits = [
        str(c.get("name", ""))
        for c, r in zip(inits, init_runs, strict=True)
        if (not r.started if _is_sidecar(c) else r.exit_code != 0)
    ]
    initialized = _initialized(inits, pending_inits, format_time(begins or now))
    if terminal:
        initialized = condition("Initialized", "True", why, "", stamp)
    # Sidecars count towards readiness, as the kubelet lists them: first.
    counted = [*sidecars, *zip(containers, runs, strict=True)]
    unready = [str(c.get("name", "")) for c, r in counted if r.ready_since is None]
    if terminal:
        ready = condition("Ready", "False", why, "", stamp)
    elif unready:
        ready = condition(
            "Ready", "False", "ContainersNotReady", _unready(containers, unready), stamp
        )
    else:
        since = max((r.ready_since for _, r in counted if r.ready_since), default=now)
        ready = condition("Ready", "True", "", "", format_time(since))
    containers_ready = {**ready, "type": "ContainersReady"}
    gate = None if terminal or unready else _closed_gate(spec, conditions)
    if gate is not None:
        ready = condition("Ready", "False", "ReadinessGatesNotReady", gate, stamp)
    for new in (sandbox, initialized, ready, containers_ready):
        conditions = set_condition(conditions, _clean(new))
    conditions.sort(
        key=lambda c: CONDITION_ORDER.index(c["type"]) if c.get("type") in CONDITION_ORDER else 99
    )

    status: Obj = {
        "conditions": conditions,
        "containerStatuses": [
            _container_status(c, r, uid) for c, r in zip(containers, runs, strict=True)
        ],
        "hostIP": old.get("hostIP", NODE_IP),
        "hostIPs": old.get("hostIPs", [{"ip": NODE_IP}]),
        "observedGeneration": meta.get("generation", 1),
        "phase": phase,
        "qosClass": qos_class(spec),
        "startTime": old.get("startTime", format_time(started)),
    }
    if inits:
        status["initContainerStatuses"] = [
            _container_status(c, r, uid) for c, r in zip(inits, init_runs, strict=True)
        ]
    if old.get("podIP"):
        status["podIP"] = old["podIP"]
        status["podIPs"] = [{"ip": old["podIP"]}]
    later = [c for c in changes if c > now]
    return PodStatus(status, None if terminal or not later else min(later))


def _closed_gate(spec: Obj, conditions: list[Obj]) -> str | None:
    """Why a readiness gate holds the Pod back, as the kubelet says it, if one does.

    Nothing in the local cluster sets a gate's condition (a load-balancer controller
    would), so a Pod with ``readinessGates`` stays unready until a client sets them.
    """
    by_type = {c.get("type"): c for c in conditions}
    for gate in spec.get("readinessGates") or []:
        name = gate.get("conditionType", "")
        found = by_type.get(name)
        if found is None:
            return f'corresponding condition of pod readiness gate "{name}" does not exist.'
        if found.get("status") != "True":
            return (
                f'the status of pod readiness gate "{name}" is not "True", '
                f"but {found.get('status')}"
            )
    return None


def _is_sidecar(container: Obj) -> bool:
    """An init container that keeps running beside the containers (Kubernetes 1.29+)."""
    return container.get("restartPolicy") == "Always"


def _phase(runs: list[Run], init_failed: bool, policy: str) -> str:
    """The Pod phase from its containers, as the kubelet computes it."""
    if init_failed and policy == "Never":
        return "Failed"
    if not runs or all("waiting" in r.state and r.restarts == 0 for r in runs):
        return "Pending"
    if all(r.exit_code is not None for r in runs):
        return "Failed" if any(r.exit_code for r in runs) else "Succeeded"
    return "Running"


def stopped_status(pod: Obj, now: str) -> Obj:
    """The status once a deleted Pod's containers have been stopped (they exit 0)."""
    status: Obj = dict(pod.get("status") or {})
    containers = []
    for item in status.get("containerStatuses") or []:
        running = (item.get("state") or {}).get("running")
        if running is not None:
            terminated = {
                "containerID": item.get("containerID", ""),
                "exitCode": 0,
                "finishedAt": now,
                "reason": "Completed",
                "startedAt": running.get("startedAt", now),
            }
            item = {**item, "ready": False, "started": False, "state": {"terminated": terminated}}
        containers.append(item)
    status["containerStatuses"] = containers
    failed = any(
        ((c.get("state") or {}).get("terminated") or {}).get("exitCode", 1) != 0 for c in containers
    )
    phase = "Failed" if failed else "Succeeded"
    why = "PodFailed" if failed else "PodCompleted"
    conditions: list[Obj] = list(status.get("conditions") or [])
    for new in (
        condition("PodReadyToStartContainers", "False", "", "", now),
        condition("Ready", "False", why, "", now),
        condition("ContainersReady", "False", why, "", now),
    ):
        conditions = set_condition(conditions, _clean(new))
    status["conditions"] = conditions
    status["phase"] = phase
    return status


def start_time(pod: Obj) -> datetime | None:
    """When the kubelet admitted the Pod."""
    return parse_time((pod.get("status") or {}).get("startTime"))
