"""Orphaned resources: objects in an app's namespace that no application manages.

A project with ``orphanedResources`` asks for them to be found: every top-level object
(no ``ownerReferences``) in the app's destination namespace that carries no tracking
id, leaving out what the project's ``ignore`` list names and what Kubernetes itself
puts in every namespace (the ``default`` ServiceAccount, the ``kube-root-ca.crt``
ConfigMap, the ``kubernetes`` Service of ``default``), as Argo CD does. With ``warn``
(on unless set to false, as in Argo CD) the app gets an ``OrphanedResourceWarning``.

tether looks among the kinds it watches on the destination cluster: every kind an
application deploys there, plus the kinds of the objects those own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tether.live import ClusterCache, TrackingMethod, tracking_app_of
from tether.model import ResourceKey
from tether.model.patterns import glob_match
from tether.model.projectparts import OrphanedResourceKey, OrphanedResources
from tether.model.status import Condition, ConditionType

#: Objects Kubernetes creates by itself, never orphans: (group, kind, name, namespace or "").
_BUILT_IN = (
    ("", "ServiceAccount", "default", ""),
    ("", "ConfigMap", "kube-root-ca.crt", ""),
    ("", "Service", "kubernetes", "default"),
)


def _group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def is_excluded(key: ResourceKey, ignore: Iterable[OrphanedResourceKey]) -> bool:
    """Whether ``key`` is never reported: built in, or matched by an ``ignore`` entry."""
    for group, kind, name, namespace in _BUILT_IN:
        if (key.group, key.kind, key.name) == (group, kind, name) and namespace in (
            "",
            key.namespace,
        ):
            return True
    return any(
        (not item.kind or glob_match(item.kind, key.kind))
        and glob_match(item.group or "", key.group)
        and (not item.name or glob_match(item.name, key.name))
        for item in ignore
    )


def find_orphans(
    cache: ClusterCache,
    kinds: Iterable[tuple[str, str]],
    namespace: str,
    settings: OrphanedResources,
    tracking: TrackingMethod,
) -> list[ResourceKey]:
    """Orphaned objects of ``namespace`` among the ``(apiVersion, kind)`` pairs, sorted."""
    found: list[ResourceKey] = []
    seen_kinds: set[tuple[str, str]] = set()
    for api_version, kind in kinds:
        group_kind = (_group_of(api_version), kind)
        if group_kind in seen_kinds:
            continue
        seen_kinds.add(group_kind)
        for obj in cache.of_kind(*group_kind):
            metadata: Mapping[str, Any] = obj.get("metadata") or {}
            if metadata.get("namespace") != namespace or metadata.get("ownerReferences"):
                continue
            if tracking_app_of(obj, tracking) is not None:
                continue
            key = ResourceKey.of(obj)
            if not is_excluded(key, settings.ignore):
                found.append(key)
    return sorted(found)


def orphan_conditions(
    orphans: list[ResourceKey], settings: OrphanedResources
) -> tuple[Condition, ...]:
    """The ``OrphanedResourceWarning`` for ``orphans``, when warnings are on."""
    if not orphans or settings.warn is False:
        return ()
    return (
        Condition(
            ConditionType.ORPHANED_RESOURCE_WARNING.value,
            f"Application has {len(orphans)} orphaned resources",
        ),
    )
