"""Sync operations: the request (``operation``) and its persisted progress (``operationState``).

An operation is requested by writing ``operation`` at the top level of an Application,
as ``argocd app sync`` does; the controller moves it into ``status.operationState`` and
records its progress there. Nothing about a running operation lives only in memory: a
restarted controller resumes from ``operationState``, so these types round-trip exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tether.model.appspec import Info, parse_sources
from tether.model.enums import HookType, OperationPhase, ResultCode, SyncPhase
from tether.model.resource import ResourceKey
from tether.model.source import ApplicationSource
from tether.model.specerror import SpecError
from tether.model.syncpolicy import ManagedNamespaceMetadata, RetryStrategy
from tether.model.wire import Fields, WireObject, enum_value, format_time, prune


def parse_recorded_source(f: Fields, key: str) -> ApplicationSource | None:
    """Parse a source recorded in status, where Argo CD writes ``{repoURL: ""}`` for none."""
    child = f.child(key)
    if child is None or not child.text("repoURL"):
        return None
    return ApplicationSource.read(child)


@dataclass(frozen=True, slots=True)
class OperationInitiator(WireObject):
    """Who started an operation: a user, or the controller itself (``automated``)."""

    username: str = ""
    automated: bool = False

    @classmethod
    def read(cls, f: Fields) -> OperationInitiator:
        """Parse ``initiatedBy``."""
        return cls(username=f.text("username"), automated=f.flag("automated"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune({"username": self.username, "automated": self.automated})


@dataclass(frozen=True, slots=True)
class SyncOperationResource(WireObject):
    """One object a partial sync is limited to."""

    kind: str
    name: str
    group: str = ""
    namespace: str = ""

    @classmethod
    def read(cls, f: Fields) -> SyncOperationResource:
        """Parse one ``sync.resources`` entry; ``kind`` and ``name`` are required."""
        for key in ("kind", "name"):
            if not f.text(key):
                raise SpecError(f.at(key), "is required")
        return cls(
            kind=f.text("kind"),
            name=f.text("name"),
            group=f.text("group"),
            namespace=f.text("namespace"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune(
            {"group": self.group, "kind": self.kind, "name": self.name, "namespace": self.namespace}
        )

    def matches(self, key: ResourceKey) -> bool:
        """Whether an object is selected (an empty namespace here matches any namespace)."""
        return (
            self.group == key.group
            and self.kind == key.kind
            and self.name == key.name
            and (not self.namespace or self.namespace == key.namespace)
        )


@dataclass(frozen=True, slots=True)
class SyncStrategy(WireObject):
    """``syncStrategy``: ``apply`` (hooks ignored) or ``hook`` (the default), and ``force``."""

    kind: str = "hook"
    force: bool = False

    @classmethod
    def read(cls, f: Fields) -> SyncStrategy:
        """Parse ``syncStrategy``: exactly one of ``apply`` and ``hook``."""
        present = [k for k in ("apply", "hook") if f.has(k)]
        if len(present) > 1:
            raise SpecError(f.path, "apply and hook are mutually exclusive")
        kind = present[0] if present else "hook"
        inner = f.child(kind) or Fields({}, f.at(kind))
        return cls(kind=kind, force=inner.flag("force"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {self.kind: prune({"force": self.force})}


@dataclass(frozen=True, slots=True)
class SyncOperation(WireObject):
    """``operation.sync``: what to sync, to which revision(s), with which options."""

    revision: str = ""
    revisions: tuple[str, ...] = ()
    prune: bool = False
    dry_run: bool = False
    sync_strategy: SyncStrategy | None = None
    resources: tuple[SyncOperationResource, ...] = ()
    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()
    manifests: tuple[str, ...] = ()
    sync_options: tuple[str, ...] = ()
    auto_heal_attempts_count: int = 0

    @classmethod
    def read(cls, f: Fields) -> SyncOperation:
        """Parse ``operation.sync``."""
        strategy = f.child("syncStrategy")
        return cls(
            revision=f.text("revision"),
            revisions=f.texts("revisions"),
            prune=f.flag("prune"),
            dry_run=f.flag("dryRun"),
            sync_strategy=None if strategy is None else SyncStrategy.read(strategy),
            resources=tuple(SyncOperationResource.read(r) for r in f.children("resources")),
            source=parse_recorded_source(f, "source"),
            sources=parse_sources(f, "sources"),
            manifests=f.texts("manifests"),
            sync_options=f.texts("syncOptions"),
            auto_heal_attempts_count=f.integer("autoHealAttemptsCount"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune(
            {
                "revision": self.revision,
                "revisions": list(self.revisions),
                "prune": self.prune,
                "dryRun": self.dry_run,
                "syncStrategy": None
                if self.sync_strategy is None
                else self.sync_strategy.to_dict(),
                "resources": [r.to_dict() for r in self.resources],
                "source": None if self.source is None else self.source.to_dict(),
                "sources": [s.to_dict() for s in self.sources],
                "manifests": list(self.manifests),
                "syncOptions": list(self.sync_options),
                "autoHealAttemptsCount": self.auto_heal_attempts_count or None,
            }
        )

    def selects(self, key: ResourceKey) -> bool:
        """Whether an object takes part in this sync (all do when no resources are listed)."""
        return not self.resources or any(r.matches(key) for r in self.resources)


@dataclass(frozen=True, slots=True)
class Operation:
    """``operation``: a requested operation (today only ``sync``).

    ``initiated_by`` and ``retry`` are ``None`` when absent: Argo CD writes them as empty
    objects, and an exact round trip keeps the difference.
    """

    sync: SyncOperation | None = None
    initiated_by: OperationInitiator | None = None
    info: tuple[Info, ...] = ()
    retry: RetryStrategy | None = None

    @classmethod
    def from_dict(cls, data: Any, path: str = "operation") -> Operation:
        """Parse an operation request."""
        f = Fields(data, path)
        sync, initiated_by, retry = (f.child(k) for k in ("sync", "initiatedBy", "retry"))
        return cls(
            sync=None if sync is None else SyncOperation.read(sync),
            initiated_by=None if initiated_by is None else OperationInitiator.read(initiated_by),
            info=tuple(Info.read(i) for i in f.children("info")),
            retry=None if retry is None else RetryStrategy.read(retry),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out: dict[str, Any] = {}
        if self.sync is not None:
            out["sync"] = self.sync.to_dict()
        if self.initiated_by is not None:
            out["initiatedBy"] = self.initiated_by.to_dict()
        if self.info:
            out["info"] = [i.to_dict() for i in self.info]
        if self.retry is not None:
            out["retry"] = self.retry.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class ResourceResult(WireObject):
    """The outcome of syncing one object (or running one hook)."""

    kind: str
    name: str
    group: str = ""
    version: str = ""
    namespace: str = ""
    status: ResultCode | None = None
    message: str = ""
    hook_type: HookType | None = None
    hook_phase: OperationPhase | None = None
    sync_phase: SyncPhase | None = None
    images: tuple[str, ...] = ()

    @classmethod
    def read(cls, f: Fields) -> ResourceResult:
        """Parse one ``syncResult.resources`` entry."""
        return cls(
            kind=f.text("kind"),
            name=f.text("name"),
            group=f.text("group"),
            version=f.text("version"),
            namespace=f.text("namespace"),
            status=f.choice("status", ResultCode),
            message=f.text("message"),
            hook_type=f.choice("hookType", HookType),
            hook_phase=f.choice("hookPhase", OperationPhase),
            sync_phase=f.choice("syncPhase", SyncPhase),
            images=f.texts("images"),
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
                "message": self.message,
                "hookType": enum_value(self.hook_type),
                "hookPhase": enum_value(self.hook_phase),
                "syncPhase": enum_value(self.sync_phase),
                "images": list(self.images),
            }
        )

    @property
    def key(self) -> ResourceKey:
        """The object's identity."""
        return ResourceKey(self.group, self.kind, self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class SyncOperationResult(WireObject):
    """``operationState.syncResult``: per-object results and the revision(s) synced."""

    resources: tuple[ResourceResult, ...] = ()
    revision: str = ""
    revisions: tuple[str, ...] = ()
    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None

    @classmethod
    def read(cls, f: Fields) -> SyncOperationResult:
        """Parse ``syncResult``."""
        managed = f.child("managedNamespaceMetadata")
        return cls(
            resources=tuple(ResourceResult.read(r) for r in f.children("resources")),
            revision=f.text("revision"),
            revisions=f.texts("revisions"),
            source=parse_recorded_source(f, "source"),
            sources=parse_sources(f, "sources"),
            managed_namespace_metadata=None
            if managed is None
            else ManagedNamespaceMetadata.read(managed),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (``revision`` is always written, as Argo CD does)."""
        out = prune(
            {
                "resources": [r.to_dict() for r in self.resources],
                "revisions": list(self.revisions),
                "source": None if self.source is None else self.source.to_dict(),
                "sources": [s.to_dict() for s in self.sources],
            }
        )
        out["revision"] = self.revision
        if self.managed_namespace_metadata is not None:
            out["managedNamespaceMetadata"] = self.managed_namespace_metadata.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class OperationState:
    """``status.operationState``: the operation being run or last run, and how it went."""

    operation: Operation
    phase: OperationPhase
    started_at: datetime
    message: str = ""
    finished_at: datetime | None = None
    retry_count: int = 0
    sync_result: SyncOperationResult | None = None

    @classmethod
    def from_dict(cls, data: Any, path: str = "status.operationState") -> OperationState:
        """Parse ``operationState``; ``operation``, ``phase`` and ``startedAt`` are required."""
        f = Fields(data, path)
        phase = f.choice("phase", OperationPhase)
        started_at = f.timestamp("startedAt")
        if phase is None:
            raise SpecError(f.at("phase"), "is required")
        if started_at is None:
            raise SpecError(f.at("startedAt"), "is required")
        result = f.child("syncResult")
        return cls(
            operation=Operation.from_dict(f.data.get("operation"), f.at("operation")),
            phase=phase,
            started_at=started_at,
            message=f.text("message"),
            finished_at=f.timestamp("finishedAt"),
            retry_count=f.integer("retryCount"),
            sync_result=None if result is None else SyncOperationResult.read(result),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, times as RFC 3339 ``Z`` strings."""
        out: dict[str, Any] = {"operation": self.operation.to_dict(), "phase": self.phase.value}
        out |= prune(
            {
                "message": self.message,
                "syncResult": None if self.sync_result is None else self.sync_result.to_dict(),
                "startedAt": format_time(self.started_at),
                "finishedAt": format_time(self.finished_at),
                "retryCount": self.retry_count or None,
            }
        )
        return out

    @property
    def is_completed(self) -> bool:
        """Whether the operation has ended."""
        return self.phase.is_completed
