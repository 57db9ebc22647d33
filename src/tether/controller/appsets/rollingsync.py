"""``strategy: RollingSync``: Applications sync step by step, each step waiting for the last.

Argo CD's progressive sync, in three parts run on every pass:

1. Each Application's rollout status moves ``Waiting`` → ``Pending`` → ``Progressing``
   → ``Healthy`` from what the application controller reports (``status.health``,
   ``status.sync``, ``status.operationState``). An Application goes back to
   ``Waiting`` when its spec changes, or when the revision the application controller
   resolved for it (``status.sync.revision(s)``, kept as ``targetRevisions``) moves:
   a new commit is rolled out step by step too.
2. Steps are taken in order: an Application belongs to the first step whose
   ``matchExpressions`` its labels satisfy. A step may start only when every
   Application of the earlier steps is Healthy (and synced); then up to ``maxUpdate``
   of its Waiting Applications become Pending.
3. Generated Applications never sync on their own: ``syncPolicy.automated`` is removed
   from all of them, and a Pending, OutOfSync Application is synced by writing its
   ``operation`` field (with ``prune`` as automated sync had it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from tether.model.applicationset import ApplicationSet
from tether.model.appsetstatus import AppSetApplicationStatus, AppStatusPhase
from tether.model.specerror import SpecError
from tether.model.wire import parse_time

SYNC_REASON: Final = "ApplicationSet RollingSync triggered a sync of this Application resource."
INITIATOR: Final = "applicationset-controller"


def _strings(app: Mapping[str, Any] | None) -> tuple[str, str, str]:
    status = (app or {}).get("status") or {}
    health = str((status.get("health") or {}).get("status", ""))
    sync = str((status.get("sync") or {}).get("status", ""))
    phase = str((status.get("operationState") or {}).get("phase", ""))
    return health, sync, phase


def is_healthy(app: Mapping[str, Any] | None) -> bool:
    """Healthy, not OutOfSync, and no operation running or failed (Argo CD's rule)."""
    health, sync, phase = _strings(app)
    return health == "Healthy" and sync != "OutOfSync" and phase in ("Succeeded", "")


def target_revisions(app: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The revisions the application controller last resolved for ``app``'s sources."""
    sync = (((app or {}).get("status") or {}).get("sync")) or {}
    revisions = [str(r) for r in sync.get("revisions") or [] if r]
    if not revisions and sync.get("revision"):
        revisions = [str(sync["revision"])]
    return tuple(revisions)


def step_of(appset: ApplicationSet, labels: Mapping[str, str]) -> int | None:
    """The 0-based step an Application with ``labels`` belongs to, if any."""
    strategy = appset.spec.strategy
    if strategy is None:
        return None
    for index, step in enumerate(strategy.steps):
        if step.selects(labels):
            return index
    return None


def without_automated_sync(app: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """``app`` with ``syncPolicy.automated`` removed, and whether it pruned."""
    out = dict(app)
    spec = dict(out.get("spec") or {})
    policy = dict(spec.get("syncPolicy") or {})
    automated = policy.pop("automated", None)
    prune = bool((automated or {}).get("prune", False))
    if automated is not None:
        if policy:
            spec["syncPolicy"] = policy
        else:
            spec.pop("syncPolicy", None)
        out["spec"] = spec
    return out, prune


def sync_operation(app: Mapping[str, Any], *, prune: bool) -> dict[str, Any]:
    """The ``operation`` that syncs ``app`` on behalf of the rollout."""
    policy = (app.get("spec") or {}).get("syncPolicy") or {}
    sync: dict[str, Any] = {"prune": prune}
    if policy.get("syncOptions"):
        sync["syncOptions"] = list(policy["syncOptions"])
    operation: dict[str, Any] = {
        "initiatedBy": {"username": INITIATOR, "automated": True},
        "info": [{"name": "Reason", "value": SYNC_REASON}],
        "sync": sync,
    }
    if policy.get("retry"):
        operation["retry"] = policy["retry"]
    return operation


@dataclass(frozen=True, slots=True)
class Progress:
    """The rollout after this pass: statuses, which apps to sync, and where it stands."""

    statuses: tuple[AppSetApplicationStatus, ...]
    to_sync: tuple[str, ...]
    current_step: int | None  # 1-based step being rolled out; None when complete


def _after(timestamp: Any, since: datetime) -> bool:
    try:
        return parse_time(timestamp, "status.operationState.startedAt") >= since.replace(
            microsecond=0
        )
    except SpecError:
        return False


def _moved(
    status: AppSetApplicationStatus, phase: AppStatusPhase, message: str, now: datetime
) -> AppSetApplicationStatus:
    return replace(status, status=phase.value, message=message, last_transition_time=now)


def _advance(
    status: AppSetApplicationStatus, app: Mapping[str, Any] | None, now: datetime
) -> AppSetApplicationStatus:
    health, _, phase = _strings(app)
    if status.status == AppStatusPhase.PENDING and app is not None:
        started = (((app.get("status") or {}).get("operationState")) or {}).get("startedAt")
        since = status.last_transition_time
        if phase == "Succeeded" and started and (since is None or _after(started, since)):
            return _moved(
                status,
                AppStatusPhase.PROGRESSING,
                "Application resource completed a sync successfully, "
                "updating status from Pending to Progressing.",
                now,
            )
        if phase == "Running" or health == "Progressing":
            return _moved(
                status,
                AppStatusPhase.PROGRESSING,
                "Application resource became Progressing, updating status from Pending to "
                "Progressing.",
                now,
            )
    if status.status == AppStatusPhase.WAITING and is_healthy(app):
        return _moved(
            status,
            AppStatusPhase.HEALTHY,
            "Application resource is already Healthy, updating status from Waiting to Healthy.",
            now,
        )
    if status.status == AppStatusPhase.PROGRESSING and is_healthy(app):
        return _moved(
            status,
            AppStatusPhase.HEALTHY,
            "Application resource became Healthy, updating status from Progressing to Healthy.",
            now,
        )
    return status


def progress(
    appset: ApplicationSet,
    desired: Sequence[Mapping[str, Any]],
    live: Mapping[str, Mapping[str, Any]],
    changed: frozenset[str],
    now: datetime,
) -> Progress:
    """One rollout pass over the desired Applications (``changed``: updated this pass)."""
    previous = {s.application: s for s in appset.status.application_status}
    statuses: dict[str, AppSetApplicationStatus] = {}
    steps: dict[int, list[str]] = {}
    labels_of: dict[str, Mapping[str, str]] = {}
    for app in desired:
        name = str(app["metadata"]["name"])
        labels_of[name] = (app.get("metadata") or {}).get("labels") or {}
        status = previous.get(name)
        revisions = target_revisions(live.get(name))
        if status is None:
            status = AppSetApplicationStatus(
                name,
                AppStatusPhase.WAITING.value,
                "No Application status found, defaulting status to Waiting.",
                last_transition_time=now,
            )
        elif name in changed or (
            revisions and status.target_revisions and revisions != status.target_revisions
        ):
            # The spec changed, or Git moved under an unchanged spec: roll it out again.
            status = _moved(
                status,
                AppStatusPhase.WAITING,
                "Application has pending changes, setting status to Waiting.",
                now,
            )
        if revisions:
            status = replace(status, target_revisions=revisions)
        for _ in range(3):  # Pending -> Progressing -> Healthy may all happen in one pass
            advanced = _advance(status, live.get(name), now)
            if advanced == status:
                break
            status = advanced
        statuses[name] = status
        step = step_of(appset, labels_of[name])
        if step is not None:
            steps.setdefault(step, []).append(name)
    strategy = appset.spec.strategy
    assert strategy is not None
    to_sync: list[str] = []
    current: int | None = None
    allowed = True
    for index in range(len(strategy.steps)):
        names = sorted(steps.get(index, []))
        if allowed:
            in_flight = sum(
                statuses[n].status in (AppStatusPhase.PENDING, AppStatusPhase.PROGRESSING)
                for n in names
            )
            limit = strategy.steps[index].max_updates(len(names))
            for name in names:
                if statuses[name].status != AppStatusPhase.WAITING:
                    continue
                if limit and in_flight >= limit:
                    break
                statuses[name] = replace(
                    _moved(
                        statuses[name],
                        AppStatusPhase.PENDING,
                        "Application moved to Pending status, watching for the Application "
                        "resource to start Progressing.",
                        now,
                    ),
                    step=str(index + 1),
                )
                in_flight += 1
            for name in names:
                _, sync, _ = _strings(live.get(name))
                if statuses[name].status == AppStatusPhase.PENDING and sync == "OutOfSync":
                    to_sync.append(name)
            done = all(
                statuses[n].status == AppStatusPhase.HEALTHY and is_healthy(live.get(n))
                for n in names
            )
            if not done and current is None:
                current = index + 1
            allowed = done
    ordered = tuple(statuses[str(a["metadata"]["name"])] for a in desired)
    return Progress(ordered, tuple(to_sync), current)
