"""Identity of Kubernetes objects and the values judged about them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tether.model.enums import HealthStatus


@dataclass(frozen=True, order=True, slots=True)
class ResourceKey:
    """Identifies one object: API group (without version), kind, namespace and name.

    The namespace is ``""`` for cluster-scoped objects. The version is deliberately
    not part of the key: ``apps/v1`` and ``apps/v1beta2`` Deployments are one object.
    """

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ResourceKey:
        """Build the key of a Kubernetes object given as a mapping."""
        api_version = str(obj.get("apiVersion") or "")
        group = api_version.rpartition("/")[0]
        metadata = obj.get("metadata") or {}
        return cls(
            group=group,
            kind=str(obj.get("kind") or ""),
            namespace=str(metadata.get("namespace") or ""),
            name=str(metadata.get("name") or ""),
        )

    @property
    def group_kind(self) -> str:
        """``Kind`` for the core group, ``group/Kind`` otherwise (e.g. ``apps/Deployment``)."""
        return f"{self.group}/{self.kind}" if self.group else self.kind

    def __str__(self) -> str:
        """Render as ``group/Kind/namespace/name`` for messages."""
        parts = [self.group_kind]
        if self.namespace:
            parts.append(self.namespace)
        parts.append(self.name)
        return "/".join(parts)


def format_tracking_id(app: str, key: ResourceKey) -> str:
    """Argo CD's annotation tracking id: ``<app>:<group>/<kind>:<namespace>/<name>``."""
    return f"{app}:{key.group}/{key.kind}:{key.namespace}/{key.name}"


def parse_tracking_id(value: str) -> tuple[str, ResourceKey] | None:
    """Split a tracking id into the app name and the object's key; ``None`` if malformed."""
    try:
        app, group_kind, namespaced_name = value.split(":", 2)
        group, kind = group_kind.split("/", 1)
        namespace, name = namespaced_name.split("/", 1)
    except ValueError:
        return None
    if not app or not kind or not name:
        return None
    return app, ResourceKey(group=group, kind=kind, namespace=namespace, name=name)


@dataclass(frozen=True, slots=True)
class Health:
    """The health verdict for one object or one application."""

    status: HealthStatus
    message: str = ""

    @staticmethod
    def worst(verdicts: list[Health]) -> Health:
        """The worst of several verdicts (Healthy when there are none), as Argo CD aggregates."""
        worst = Health(HealthStatus.HEALTHY)
        for verdict in verdicts:
            if verdict.status.is_worse_than(worst.status):
                worst = verdict
        return worst
