"""``status`` of an Application: sync and health verdicts, resources, conditions, history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tether.model.appspec import Destination, ResourceIgnoreDifferences, parse_sources
from tether.model.enums import HealthStatus, SyncStatus
from tether.model.operation import OperationInitiator, OperationState, parse_recorded_source
from tether.model.resource import Health, ResourceKey
from tether.model.source import ApplicationSource
from tether.model.specerror import SpecError
from tether.model.wire import Fields, WireObject, enum_value, format_time, prune


class ConditionType(StrEnum):
    """``status.conditions[].type`` values Argo CD uses; types ending in Error are errors."""

    DELETION_ERROR = "DeletionError"
    INVALID_SPEC_ERROR = "InvalidSpecError"
    COMPARISON_ERROR = "ComparisonError"
    SYNC_ERROR = "SyncError"
    UNKNOWN_ERROR = "UnknownError"
    SHARED_RESOURCE_WARNING = "SharedResourceWarning"
    REPEATED_RESOURCE_WARNING = "RepeatedResourceWarning"
    EXCLUDED_RESOURCE_WARNING = "ExcludedResourceWarning"
    ORPHANED_RESOURCE_WARNING = "OrphanedResourceWarning"


_STATUS_FIELDS = frozenset(
    {
        "sync",
        "health",
        "resources",
        "conditions",
        "operationState",
        "history",
        "reconciledAt",
        "observedAt",
        "sourceType",
        "sourceTypes",
        "summary",
        "controllerNamespace",
        "resourceHealthSource",
    }
)


def parse_health(f: Fields, key: str) -> Health | None:
    """A ``{status, message}`` health block; ``None`` when absent or without a status."""
    child = f.child(key)
    if child is None:
        return None
    status = child.choice("status", HealthStatus)
    return None if status is None else Health(status, child.text("message"))


def health_to_dict(health: Health | None) -> dict[str, Any] | None:
    """The wire form of a health block."""
    if health is None:
        return None
    return prune({"status": health.status.value, "message": health.message})


@dataclass(frozen=True, slots=True)
class Condition(WireObject):
    """One ``status.conditions`` entry. ``type`` is kept as written; compare to ConditionType."""

    type: str
    message: str = ""
    last_transition_time: datetime | None = None

    @classmethod
    def read(cls, f: Fields) -> Condition:
        """Parse one condition; ``type`` is required."""
        kind = f.text("type")
        if not kind:
            raise SpecError(f.at("type"), "is required")
        return cls(kind, f.text("message"), f.timestamp("lastTransitionTime"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form (``type`` and ``message`` always written)."""
        out = {"type": self.type, "message": self.message}
        return out | prune({"lastTransitionTime": format_time(self.last_transition_time)})

    @property
    def is_error(self) -> bool:
        """Whether this condition is an error rather than a warning."""
        return self.type.endswith("Error")


@dataclass(frozen=True, slots=True)
class ComparedTo(WireObject):
    """``status.sync.comparedTo``: the spec the last comparison was made against."""

    destination: Destination = field(default_factory=Destination)
    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()
    ignore_differences: tuple[ResourceIgnoreDifferences, ...] = ()

    @classmethod
    def read(cls, f: Fields) -> ComparedTo:
        """Parse ``comparedTo``."""
        return cls(
            destination=Destination.read(f.child("destination") or Fields({}, f.at("destination"))),
            source=parse_recorded_source(f, "source"),
            sources=parse_sources(f, "sources"),
            ignore_differences=tuple(
                ResourceIgnoreDifferences.read(d) for d in f.children("ignoreDifferences")
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (``destination`` always written)."""
        out: dict[str, Any] = {}
        if self.source is not None:
            out["source"] = self.source.to_dict()
        out["destination"] = self.destination.to_dict()
        return out | prune(
            {
                "sources": [s.to_dict() for s in self.sources],
                "ignoreDifferences": [d.to_dict() for d in self.ignore_differences],
            }
        )


@dataclass(frozen=True, slots=True)
class SyncState(WireObject):
    """``status.sync``: whether live matches desired, and at which revision(s)."""

    status: SyncStatus
    revision: str = ""
    revisions: tuple[str, ...] = ()
    compared_to: ComparedTo | None = None

    @classmethod
    def read(cls, f: Fields) -> SyncState:
        """Parse ``status.sync``."""
        compared_to = f.child("comparedTo")
        return cls(
            status=f.choice("status", SyncStatus) or SyncStatus.UNKNOWN,
            revision=f.text("revision"),
            revisions=f.texts("revisions"),
            compared_to=None if compared_to is None else ComparedTo.read(compared_to),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out: dict[str, Any] = {"status": self.status.value}
        if self.compared_to is not None:
            out["comparedTo"] = self.compared_to.to_dict()
        return out | prune({"revision": self.revision, "revisions": list(self.revisions)})


@dataclass(frozen=True, slots=True)
class ResourceStatus(WireObject):
    """One ``status.resources`` entry: an object of the app and its verdicts."""

    kind: str
    name: str
    group: str = ""
    version: str = ""
    namespace: str = ""
    status: SyncStatus | None = None
    health: Health | None = None
    hook: bool = False
    requires_pruning: bool = False
    requires_deletion_confirmation: bool = False
    sync_wave: int = 0

    @classmethod
    def read(cls, f: Fields) -> ResourceStatus:
        """Parse one ``status.resources`` entry."""
        return cls(
            kind=f.text("kind"),
            name=f.text("name"),
            group=f.text("group"),
            version=f.text("version"),
            namespace=f.text("namespace"),
            status=f.choice("status", SyncStatus),
            health=parse_health(f, "health"),
            hook=f.flag("hook"),
            requires_pruning=f.flag("requiresPruning"),
            requires_deletion_confirmation=f.flag("requiresDeletionConfirmation"),
            sync_wave=f.integer("syncWave"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune(
            {
                "group": self.group,
                "version": self.version,
                "kind": self.kind,
                "namespace": self.namespace,
                "name": self.name,
                "status": enum_value(self.status),
                "health": health_to_dict(self.health),
                "hook": self.hook,
                "requiresPruning": self.requires_pruning,
                "requiresDeletionConfirmation": self.requires_deletion_confirmation,
                "syncWave": self.sync_wave or None,
            }
        )

    @property
    def key(self) -> ResourceKey:
        """The object's identity."""
        return ResourceKey(self.group, self.kind, self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class RevisionHistory(WireObject):
    """One ``status.history`` entry: a completed sync, the source of a rollback."""

    id: int
    deployed_at: datetime
    revision: str = ""
    revisions: tuple[str, ...] = ()
    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()
    deploy_started_at: datetime | None = None
    initiated_by: OperationInitiator | None = None

    @classmethod
    def read(cls, f: Fields) -> RevisionHistory:
        """Parse one history entry; ``id`` and ``deployedAt`` are required."""
        deployed_at = f.timestamp("deployedAt")
        if not f.has("id"):
            raise SpecError(f.at("id"), "is required")
        if deployed_at is None:
            raise SpecError(f.at("deployedAt"), "is required")
        initiated_by = f.child("initiatedBy")
        return cls(
            id=f.integer("id"),
            deployed_at=deployed_at,
            revision=f.text("revision"),
            revisions=f.texts("revisions"),
            source=parse_recorded_source(f, "source"),
            sources=parse_sources(f, "sources"),
            deploy_started_at=f.timestamp("deployStartedAt"),
            initiated_by=None if initiated_by is None else OperationInitiator.read(initiated_by),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out = prune(
            {
                "revision": self.revision,
                "revisions": list(self.revisions),
                "source": None if self.source is None else self.source.to_dict(),
                "sources": [s.to_dict() for s in self.sources],
                "deployedAt": format_time(self.deployed_at),
                "deployStartedAt": format_time(self.deploy_started_at),
            }
        )
        out["id"] = self.id
        if self.initiated_by is not None:
            out["initiatedBy"] = self.initiated_by.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class Summary(WireObject):
    """``status.summary``: images and external URLs found in the app's objects."""

    images: tuple[str, ...] = ()
    external_urls: tuple[str, ...] = ()

    @classmethod
    def read(cls, f: Fields) -> Summary:
        """Parse ``status.summary``."""
        return cls(images=f.texts("images"), external_urls=f.texts("externalURLs"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune({"images": list(self.images), "externalURLs": list(self.external_urls)})


@dataclass(frozen=True, slots=True)
class ApplicationStatus:
    """``status`` of an Application, as the controller writes it.

    Fields tether does not type (``sourceHydrator``, ...) are kept in ``extra``.
    """

    sync: SyncState | None = None
    health: Health | None = None
    resources: tuple[ResourceStatus, ...] = ()
    conditions: tuple[Condition, ...] = ()
    operation_state: OperationState | None = None
    history: tuple[RevisionHistory, ...] = ()
    reconciled_at: datetime | None = None
    observed_at: datetime | None = None
    source_type: str = ""
    source_types: tuple[str, ...] = ()
    summary: Summary | None = None
    controller_namespace: str = ""
    resource_health_source: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, path: str = "status") -> ApplicationStatus:
        """Parse ``status``."""
        f = Fields(data, path)
        sync, operation_state, summary = (f.child(k) for k in ("sync", "operationState", "summary"))
        return cls(
            sync=None if sync is None else SyncState.read(sync),
            health=parse_health(f, "health"),
            resources=tuple(ResourceStatus.read(r) for r in f.children("resources")),
            conditions=tuple(Condition.read(c) for c in f.children("conditions")),
            operation_state=None
            if operation_state is None
            else OperationState.from_dict(operation_state.data, operation_state.path),
            history=tuple(RevisionHistory.read(h) for h in f.children("history")),
            reconciled_at=f.timestamp("reconciledAt"),
            observed_at=f.timestamp("observedAt"),
            source_type=f.text("sourceType"),
            source_types=f.texts("sourceTypes"),
            summary=None if summary is None else Summary.read(summary),
            controller_namespace=f.text("controllerNamespace"),
            resource_health_source=f.text("resourceHealthSource"),
            extra=f.rest(_STATUS_FIELDS),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, times as RFC 3339 ``Z`` strings."""
        out = prune(
            {
                "resources": [r.to_dict() for r in self.resources],
                "sync": None if self.sync is None else self.sync.to_dict(),
                "health": health_to_dict(self.health),
                "history": [h.to_dict() for h in self.history],
                "conditions": [c.to_dict() for c in self.conditions],
                "reconciledAt": format_time(self.reconciled_at),
                "operationState": None
                if self.operation_state is None
                else self.operation_state.to_dict(),
                "observedAt": format_time(self.observed_at),
                "sourceType": self.source_type,
                "sourceTypes": list(self.source_types),
                "controllerNamespace": self.controller_namespace,
                "resourceHealthSource": self.resource_health_source,
            }
        )
        if self.summary is not None:
            out["summary"] = self.summary.to_dict()
        return out | dict(self.extra)

    @property
    def sync_status(self) -> SyncStatus:
        """The app's sync status (Unknown before the first comparison)."""
        return SyncStatus.UNKNOWN if self.sync is None else self.sync.status

    @property
    def errors(self) -> tuple[Condition, ...]:
        """The error conditions."""
        return tuple(c for c in self.conditions if c.is_error)
