"""Object metadata of tether's custom resources, as the Kubernetes API serves it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tether.model.wire import Fields, format_time, prune

#: The metadata fields typed below; every other field is carried unchanged in ``extra``.
_TYPED = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "labels",
        "annotations",
        "finalizers",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
    }
)


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    """``metadata`` of an Application, AppProject or ApplicationSet.

    The fields a user writes are typed; the ones the API server adds and tether only
    passes back (``ownerReferences``, ``managedFields``, ...) stay in ``extra`` so that an
    object read from the cluster and written back loses nothing.
    """

    name: str = ""
    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    finalizers: tuple[str, ...] = ()
    generate_name: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, path: str = "metadata") -> ObjectMeta:
        """Parse ``metadata``."""
        f = Fields(data, path)
        return cls(
            name=f.text("name"),
            namespace=f.text("namespace"),
            labels=f.text_map("labels"),
            annotations=f.text_map("annotations"),
            finalizers=f.texts("finalizers"),
            generate_name=f.text("generateName"),
            uid=f.text("uid"),
            resource_version=f.text("resourceVersion"),
            generation=f.integer("generation"),
            creation_timestamp=f.timestamp("creationTimestamp"),
            deletion_timestamp=f.timestamp("deletionTimestamp"),
            extra={k: v for k, v in f.data.items() if k not in _TYPED},
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, empty fields omitted."""
        return prune(
            {
                "name": self.name,
                "generateName": self.generate_name,
                "namespace": self.namespace,
                "labels": dict(self.labels),
                "annotations": dict(self.annotations),
                "finalizers": list(self.finalizers),
                "uid": self.uid,
                "resourceVersion": self.resource_version,
                "generation": self.generation or None,
                "creationTimestamp": format_time(self.creation_timestamp),
                "deletionTimestamp": format_time(self.deletion_timestamp),
            }
        ) | dict(self.extra)

    @property
    def is_deleting(self) -> bool:
        """Whether deletion was requested and finalizers are holding the object."""
        return self.deletion_timestamp is not None
