"""Application dependencies: ``tether.dev/depends-on`` makes an app's syncs wait.

The annotation lists applications, comma separated, as ``name`` (an app of the same
namespace) or ``namespace/name``. A sync of the app, automated or manual, starts only
when every app it names exists, is Synced and Healthy and is not syncing; until then the sync waits
and the reason is shown. Dependencies that form a cycle can never be satisfied: the
cycle is reported and the sync does not start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tether.model import keys

#: Looks an Application up by ``namespace/name``; ``None`` when it does not exist.
AppLookup = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class DependencyVerdict:
    """Whether an app's dependencies allow a sync now.

    ``waiting_on`` lists the apps (``namespace/name``) not yet Synced and Healthy;
    ``cycle`` the apps of a dependency cycle through this app, in order.
    """

    allowed: bool
    reason: str = ""
    waiting_on: tuple[str, ...] = ()
    cycle: tuple[str, ...] = ()


def parse_depends_on(value: str, namespace: str) -> tuple[str, ...]:
    """The ``namespace/name`` keys an annotation value names, in order, without repeats."""
    found: list[str] = []
    for entry in value.split(","):
        entry = entry.strip()
        if not entry:
            continue
        key = entry if "/" in entry else f"{namespace}/{entry}"
        if key not in found:
            found.append(key)
    return tuple(found)


def dependencies_of(app: Mapping[str, Any]) -> tuple[str, ...]:
    """The apps an Application object depends on."""
    metadata = app.get("metadata") or {}
    value = (metadata.get("annotations") or {}).get(keys.DEPENDS_ON, "")
    return parse_depends_on(str(value), str(metadata.get("namespace", "")))


def find_cycle(start: str, lookup: AppLookup) -> tuple[str, ...]:
    """A dependency cycle through ``start`` (``start`` first), or ``()`` when there is none."""
    path: list[str] = [start]
    visited: set[str] = set()

    def walk(key: str) -> bool:
        obj = lookup(key)
        for dependency in dependencies_of(obj) if obj is not None else ():
            if dependency == start:
                return True
            if dependency in visited:
                continue
            visited.add(dependency)
            path.append(dependency)
            if walk(dependency):
                return True
            path.pop()
        return False

    return tuple(path) if walk(start) else ()


def _state(app: Mapping[str, Any]) -> tuple[str, str, bool]:
    """Sync status, health status, and whether an operation is requested or running."""
    status = app.get("status") or {}
    phase = (status.get("operationState") or {}).get("phase")
    return (
        str((status.get("sync") or {}).get("status", "")),
        str((status.get("health") or {}).get("status", "")),
        "operation" in app or phase in ("Running", "Terminating"),
    )


def evaluate_dependencies(key: str, app: Mapping[str, Any], lookup: AppLookup) -> DependencyVerdict:
    """Whether the app ``key`` (``namespace/name``) may sync as far as its dependencies go."""
    wanted = dependencies_of(app)
    if not wanted:
        return DependencyVerdict(True)
    cycle = find_cycle(key, lookup)
    if cycle:
        shown = " -> ".join((*cycle, cycle[0]))
        return DependencyVerdict(False, f"dependency cycle: {shown}", cycle=cycle)
    waiting: list[str] = []
    details: list[str] = []
    for dependency in wanted:
        found = lookup(dependency)
        if found is None:
            waiting.append(dependency)
            details.append(f"{dependency} does not exist")
            continue
        sync, health, syncing = _state(found)
        if syncing:
            waiting.append(dependency)
            details.append(f"{dependency} is syncing")
        elif (sync, health) != ("Synced", "Healthy"):
            waiting.append(dependency)
            details.append(f"{dependency} is {sync or 'Unknown'} and {health or 'Unknown'}")
    if waiting:
        return DependencyVerdict(
            False,
            "waiting for dependencies to be Synced and Healthy: " + "; ".join(details),
            waiting_on=tuple(waiting),
        )
    return DependencyVerdict(True)
