"""Whether an Application's status ever claimed more than its cluster held.

Faults must not make the status lie: an object is not reported Synced, nor its apply
reported done, before it exists. The local cluster gives every write one global
resourceVersion, so an :class:`~eventlog.EventLog` that watched the Application and
the app's kinds orders status writes and object creations on one line: the status
written at resourceVersion ``v`` may only claim objects created before ``v``.

A status written after an object was deleted may still list it as Synced for a moment
(the controller's cache lags by one event, as any controller's does); that is lag, not
a lie, and is not reported. Claims about objects that never existed yet are.
"""

from __future__ import annotations

from typing import Any

from eventlog import EventLog, Seen

CONTROL_NAMESPACE = "argocd"


def _synced_claims(status: dict[str, Any], namespace: str) -> set[tuple[str, str]]:
    """``(kind, name)`` of every object this status says is synced (or was applied)."""
    claims = {
        (r["kind"], r["name"])
        for r in status.get("resources") or []
        if r.get("status") == "Synced" and r.get("namespace") == namespace
    }
    operation = status.get("operationState") or {}
    results = (operation.get("syncResult") or {}).get("resources") or []
    claims |= {
        (r["kind"], r["name"])
        for r in results
        if r.get("status") == "Synced" and r.get("namespace") == namespace
    }
    return claims


def untrue_claims(events: EventLog, app: str, namespace: str) -> list[str]:
    """Each status write of ``app`` that claimed an object not yet created in ``namespace``.

    Only kinds the event log watches are judged (the log must watch ``Application``).
    """
    watched = {kind for _, kind in events.kinds}
    created: dict[tuple[str, str], int] = {}
    for event in events.of(namespace, event_type="ADDED"):
        created.setdefault((event.kind, event.name), event.resource_version)
    statuses: list[Seen] = [
        e for e in events.of(CONTROL_NAMESPACE, kind="Application") if e.name == app
    ]
    untrue = []
    for event in statuses:
        status = event.object.get("status") or {}
        for kind, name in sorted(_synced_claims(status, namespace)):
            if kind not in watched:
                continue
            if created.get((kind, name), event.resource_version) >= event.resource_version:
                untrue.append(
                    f"status at rv {event.resource_version} claims {kind} {name}, created at "
                    f"rv {created.get((kind, name), 'never')}"
                )
    return untrue
