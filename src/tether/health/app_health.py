"""An application's health: the worst verdict among its direct resources.

Argo CD's rules, applied in this order to each resource the application manages:

1. a resource whose desired state is a ``Skip`` hook (``argocd.argoproj.io/hook:
   Skip``), a live hook (Argo CD hook annotation, or a Helm hook other than
   ``crd-install``), or a live object whose hook annotation names no known hook type
   is left out entirely;
2. a live object annotated ``argocd.argoproj.io/ignore-healthcheck: "true"`` gets no
   verdict and does not count;
3. the application's own object (an app that manages itself) is left out;
4. a resource that is not live is Missing, but Missing resources do not lower the
   application's health (being OutOfSync already says so) — unless *nothing* the
   application declares is live, then the application is Missing;
5. a child ``argoproj.io/Application`` that is Missing or Unknown does not lower it;
6. resources without a verdict (a ConfigMap) do not count.

The application's health is the worst of the rest in the order Healthy, Suspended,
Progressing, Missing, Degraded, Unknown; Healthy when nothing counts.

Rule 4 is what Argo CD's controller does today. Its "Resource Health" page still
gives the older example of a Missing and a Degraded resource making an application
Missing; the controller, and tether, report Degraded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tether.health.assessment import assess_health
from tether.health.builtin import APPLICATION_GROUP_KIND
from tether.health.customizations import HealthOverrides
from tether.health.policy import DEFAULT_POLICY, HealthPolicy
from tether.model import Health, HealthStatus, ResourceKey, keys
from tether.model.hooks import is_hook, is_skipped

#: Set to ``"true"`` on a resource whose health must not affect its application's.
IGNORE_HEALTHCHECK = keys.IGNORE_HEALTHCHECK


@dataclass(frozen=True, slots=True)
class ManagedResource:
    """One resource of an application: what Git declares and what runs (either may lack)."""

    key: ResourceKey
    target: Mapping[str, Any] | None = None
    live: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ResourceHealth:
    """The verdict on one resource; ``health`` is ``None`` when no check applies."""

    key: ResourceKey
    health: Health | None


@dataclass(frozen=True, slots=True)
class AppHealth:
    """An application's health and the verdicts it was drawn from.

    ``resources`` lists every resource that was judged (hooks, ignored and self
    references are not), in input order, for ``status.resources[].health``.
    """

    health: Health
    resources: tuple[ResourceHealth, ...]


def _annotation(obj: Mapping[str, Any], key: str) -> str | None:
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if not isinstance(annotations, Mapping):
        return None
    value = annotations.get(key)
    return None if value is None else str(value)


def _left_out(resource: ManagedResource) -> bool:
    """Hooks and skipped objects are not among an application's resources."""
    if resource.target is not None and is_skipped(resource.target):
        return True
    live = resource.live
    return live is not None and (is_hook(live) or is_skipped(live))


def assess_app_health(
    resources: Iterable[ManagedResource],
    *,
    app: ResourceKey | None = None,
    overrides: HealthOverrides | None = None,
    policy: HealthPolicy = DEFAULT_POLICY,
) -> AppHealth:
    """Aggregate the health of an application's direct resources as Argo CD does.

    ``app`` is the application's own key, so that an application managing itself does
    not judge itself.
    """
    worst = HealthStatus.HEALTHY
    verdicts: list[ResourceHealth] = []
    declares_resources = has_live_resources = False
    for resource in resources:
        if _left_out(resource):
            continue
        declares_resources = True
        live = resource.live
        if live is not None:
            has_live_resources = True
            if _annotation(live, IGNORE_HEALTHCHECK) == "true":
                continue
            if app is not None and resource.key == app:
                continue
            health = assess_health(live, overrides=overrides, policy=policy)
        else:
            health = Health(HealthStatus.MISSING)
        verdicts.append(ResourceHealth(resource.key, health))
        if health is None or (live is None and health.status is HealthStatus.MISSING):
            continue
        is_application = (resource.key.group, resource.key.kind) == APPLICATION_GROUP_KIND
        if is_application and health.status in (HealthStatus.MISSING, HealthStatus.UNKNOWN):
            continue
        if health.status.is_worse_than(worst):
            worst = health.status
    if declares_resources and not has_live_resources and HealthStatus.MISSING.is_worse_than(worst):
        worst = HealthStatus.MISSING
    return AppHealth(Health(worst), tuple(verdicts))
