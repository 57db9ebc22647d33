"""``spec`` of an Application: what to deploy, where, and how to keep it in sync."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tether.model.source import ApplicationSource
from tether.model.specerror import SpecError
from tether.model.syncoptions import SyncOptions
from tether.model.syncpolicy import SyncPolicy
from tether.model.wire import Fields, WireObject, prune

#: The project an Application with no ``spec.project`` belongs to.
DEFAULT_PROJECT = "default"
#: How many entries of ``status.history`` are kept when ``revisionHistoryLimit`` is unset.
DEFAULT_REVISION_HISTORY_LIMIT = 10
#: The ``spec`` fields typed below; any other is kept in ``ApplicationSpec.extra``.
_TYPED = frozenset(
    {
        "destination",
        "project",
        "source",
        "sources",
        "syncPolicy",
        "ignoreDifferences",
        "info",
        "revisionHistoryLimit",
    }
)


@dataclass(frozen=True, slots=True)
class Destination(WireObject):
    """``spec.destination``: a cluster (by API ``server`` URL or by ``name``) and a namespace."""

    server: str = ""
    name: str = ""
    namespace: str = ""

    @classmethod
    def read(cls, f: Fields) -> Destination:
        """Parse a destination."""
        return cls(server=f.text("server"), name=f.text("name"), namespace=f.text("namespace"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune({"server": self.server, "name": self.name, "namespace": self.namespace})


@dataclass(frozen=True, slots=True)
class ResourceIgnoreDifferences(WireObject):
    """One ``spec.ignoreDifferences`` entry: fields of matching objects left out of the diff."""

    kind: str
    group: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    @classmethod
    def read(cls, f: Fields) -> ResourceIgnoreDifferences:
        """Parse one entry; ``kind`` is required."""
        kind = f.text("kind")
        if not kind:
            raise SpecError(f.at("kind"), "is required")
        return cls(
            kind=kind,
            group=f.text("group"),
            name=f.text("name"),
            namespace=f.text("namespace"),
            json_pointers=f.texts("jsonPointers"),
            jq_path_expressions=f.texts("jqPathExpressions"),
            managed_fields_managers=f.texts("managedFieldsManagers"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune(
            {
                "group": self.group,
                "kind": self.kind,
                "name": self.name,
                "namespace": self.namespace,
                "jsonPointers": list(self.json_pointers),
                "jqPathExpressions": list(self.jq_path_expressions),
                "managedFieldsManagers": list(self.managed_fields_managers),
            }
        )

    def matches(self, group: str, kind: str, namespace: str, name: str) -> bool:
        """Whether this entry applies to an object (an empty name or namespace matches all)."""
        return (
            self.group == group
            and self.kind == kind
            and (not self.name or self.name == name)
            and (not self.namespace or self.namespace == namespace)
        )


@dataclass(frozen=True, slots=True)
class Info(WireObject):
    """A free-form ``name``/``value`` pair (``spec.info``, ``operation.info``)."""

    name: str
    value: str

    @classmethod
    def read(cls, f: Fields) -> Info:
        """Parse one pair."""
        return cls(name=f.text("name"), value=f.text("value"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form (both fields always written)."""
        return {"name": self.name, "value": self.value}


def parse_sources(f: Fields, key: str) -> tuple[ApplicationSource, ...]:
    """Parse a list of sources (``spec.sources``, ``history[].sources``, ...)."""
    return tuple(ApplicationSource.read(item) for item in f.children(key))


def parse_source(f: Fields, key: str) -> ApplicationSource | None:
    """Parse one optional source."""
    child = f.child(key)
    return None if child is None else ApplicationSource.read(child)


@dataclass(frozen=True, slots=True)
class ApplicationSpec:
    """``spec`` of an Application.

    An app has either one ``source`` or a list of ``sources``; when ``sources`` is set,
    ``source`` is ignored, as in Argo CD. Use :attr:`all_sources` rather than either field.
    Fields tether does not type (``sourceHydrator``, fields of newer Argo CD releases, or
    misspelt ones) are kept in ``extra``, written back unchanged, and worth reporting.
    """

    destination: Destination
    project: str = ""
    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()
    sync_policy: SyncPolicy | None = None
    ignore_differences: tuple[ResourceIgnoreDifferences, ...] = ()
    info: tuple[Info, ...] = ()
    revision_history_limit: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, path: str = "spec") -> ApplicationSpec:
        """Parse ``spec``, raising :class:`SpecError` on the first bad field."""
        f = Fields(data, path)
        destination = f.child("destination")
        if destination is None:
            raise SpecError(f.at("destination"), "is required")
        sync_policy = f.child("syncPolicy")
        spec = cls(
            destination=Destination.read(destination),
            project=f.text("project"),
            source=parse_source(f, "source"),
            sources=parse_sources(f, "sources"),
            sync_policy=None if sync_policy is None else SyncPolicy.read(sync_policy),
            ignore_differences=tuple(
                ResourceIgnoreDifferences.read(item) for item in f.children("ignoreDifferences")
            ),
            info=tuple(Info.read(item) for item in f.children("info")),
            revision_history_limit=f.opt_integer("revisionHistoryLimit"),
            extra=f.rest(_TYPED),
        )
        # A hydrated app names its sources in spec.sourceHydrator, kept as data in extra.
        if spec.source is None and not spec.sources and "sourceHydrator" not in spec.extra:
            raise SpecError(f.at("source"), "is required (or spec.sources)")
        if spec.destination.server and spec.destination.name:
            raise SpecError(destination.path, "server and name are mutually exclusive")
        if spec.revision_history_limit is not None and spec.revision_history_limit < 0:
            raise SpecError(f.at("revisionHistoryLimit"), "must not be negative")
        return spec

    def to_dict(self) -> dict[str, Any]:
        """The wire form, as Argo CD writes it."""
        out: dict[str, Any] = {}
        if self.source is not None:
            out["source"] = self.source.to_dict()
        if self.sources:
            out["sources"] = [s.to_dict() for s in self.sources]
        out["destination"] = self.destination.to_dict()
        if self.project:
            out["project"] = self.project
        if self.sync_policy is not None:
            out["syncPolicy"] = self.sync_policy.to_dict()
        if self.ignore_differences:
            out["ignoreDifferences"] = [d.to_dict() for d in self.ignore_differences]
        if self.info:
            out["info"] = [i.to_dict() for i in self.info]
        if self.revision_history_limit is not None:
            out["revisionHistoryLimit"] = self.revision_history_limit
        return out | dict(self.extra)

    # --- what an engine asks -------------------------------------------------------

    @property
    def project_name(self) -> str:
        """The project, ``default`` when unset."""
        return self.project or DEFAULT_PROJECT

    @property
    def is_multi_source(self) -> bool:
        """Whether the app uses ``spec.sources``."""
        return bool(self.sources)

    @property
    def all_sources(self) -> tuple[ApplicationSource, ...]:
        """The app's sources whatever the form: ``sources``, else the one ``source``."""
        if self.sources:
            return self.sources
        return () if self.source is None else (self.source,)

    @property
    def rendered_sources(self) -> tuple[ApplicationSource, ...]:
        """The sources that produce manifests.

        In a multi-source app a source with a ``ref`` and neither ``path`` nor ``chart``
        only lends its files to others (``$ref/values.yaml``); it renders nothing.
        """
        return tuple(
            s
            for s in self.all_sources
            if not (self.sources and s.ref and not s.path and not s.chart)
        )

    @property
    def ref_sources(self) -> Mapping[str, ApplicationSource]:
        """Sources other sources may read files from, by ``ref`` name."""
        return {s.ref: s for s in self.sources if s.ref}

    @property
    def is_automated(self) -> bool:
        """Whether automated sync is on."""
        return self.sync_policy is not None and self.sync_policy.is_automated

    @property
    def sync_options(self) -> SyncOptions:
        """The app-level sync options, parsed (objects may override them)."""
        raw = self.sync_policy.sync_options if self.sync_policy is not None else ()
        return SyncOptions.parse(raw)

    @property
    def history_limit(self) -> int:
        """How many history entries to keep (10 unless set)."""
        if self.revision_history_limit is None:
            return DEFAULT_REVISION_HISTORY_LIMIT
        return self.revision_history_limit
