"""The parts of an AppProject spec: destinations, resource kinds, roles and sync windows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tether.model.patterns import glob_match
from tether.model.specerror import SpecError
from tether.model.wire import Fields, WireObject, parse_duration, prune


@dataclass(frozen=True, slots=True)
class GroupKind(WireObject):
    """An entry of a resource white- or blacklist; both fields are globs (``*``)."""

    group: str
    kind: str

    @classmethod
    def read(cls, f: Fields) -> GroupKind:
        """Parse one entry. ``group`` is required (``""`` is the core group)."""
        if "group" not in f.data:
            raise SpecError(f.at("group"), "is required (use '' for the core group)")
        if not f.text("kind"):
            raise SpecError(f.at("kind"), "is required")
        return cls(group=f.text("group"), kind=f.text("kind"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form (``group`` always written, empty for the core group)."""
        return {"group": self.group, "kind": self.kind}

    def matches(self, group: str, kind: str) -> bool:
        """Whether this entry covers a group and kind."""
        return glob_match(self.kind, kind, "/") and glob_match(self.group, group, "/")


@dataclass(frozen=True, slots=True)
class ProjectDestination(WireObject):
    """An allowed (or, with ``!``, denied) destination: globs over server, name, namespace."""

    server: str = ""
    name: str = ""
    namespace: str = ""

    @classmethod
    def read(cls, f: Fields) -> ProjectDestination:
        """Parse one ``destinations`` entry."""
        return cls(server=f.text("server"), name=f.text("name"), namespace=f.text("namespace"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune({"server": self.server, "name": self.name, "namespace": self.namespace})

    def __str__(self) -> str:
        """Render as ``{server: ..., name: ..., namespace: ...}`` for messages."""
        parts = [f"{k}: {v}" for k, v in self.to_dict().items()]
        return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True, slots=True)
class OrphanedResourceKey(WireObject):
    """An ``orphanedResources.ignore`` entry: objects never reported as orphans."""

    kind: str = ""
    group: str = ""
    name: str = ""

    @classmethod
    def read(cls, f: Fields) -> OrphanedResourceKey:
        """Parse one entry."""
        return cls(kind=f.text("kind"), group=f.text("group"), name=f.text("name"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune({"group": self.group, "kind": self.kind, "name": self.name})


@dataclass(frozen=True, slots=True)
class OrphanedResources(WireObject):
    """``orphanedResources``: report objects in the app's namespaces that no app manages.

    Present means monitoring is on; ``warn`` (default false when absent) raises an
    ``OrphanedResourceWarning`` condition as well.
    """

    warn: bool | None = None
    ignore: tuple[OrphanedResourceKey, ...] = ()

    @classmethod
    def read(cls, f: Fields) -> OrphanedResources:
        """Parse ``orphanedResources``."""
        return cls(
            warn=f.opt_flag("warn"),
            ignore=tuple(OrphanedResourceKey.read(i) for i in f.children("ignore")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out: dict[str, Any] = {}
        if self.warn is not None:
            out["warn"] = self.warn
        if self.ignore:
            out["ignore"] = [i.to_dict() for i in self.ignore]
        return out


@dataclass(frozen=True, slots=True)
class JWTToken(WireObject):
    """A token issued for a project role: issued-at and expiry (Unix seconds) and its id."""

    iat: int
    exp: int = 0
    id: str = ""

    @classmethod
    def read(cls, f: Fields) -> JWTToken:
        """Parse one token record."""
        if not f.has("iat"):
            raise SpecError(f.at("iat"), "is required")
        return cls(iat=f.integer("iat"), exp=f.integer("exp"), id=f.text("id"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form (``iat`` always written)."""
        return {"iat": self.iat} | prune({"exp": self.exp or None, "id": self.id})


@dataclass(frozen=True, slots=True)
class ProjectRole(WireObject):
    """A project role: RBAC policies, the SSO groups bound to it, and its tokens."""

    name: str
    description: str = ""
    policies: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    jwt_tokens: tuple[JWTToken, ...] = ()

    @classmethod
    def read(cls, f: Fields) -> ProjectRole:
        """Parse one role; ``name`` is required."""
        if not f.text("name"):
            raise SpecError(f.at("name"), "is required")
        return cls(
            name=f.text("name"),
            description=f.text("description"),
            policies=f.texts("policies"),
            groups=f.texts("groups"),
            jwt_tokens=tuple(JWTToken.read(t) for t in f.children("jwtTokens")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune(
            {
                "name": self.name,
                "description": self.description,
                "policies": list(self.policies),
                "groups": list(self.groups),
                "jwtTokens": [t.to_dict() for t in self.jwt_tokens],
            }
        )


class WindowKind(StrEnum):
    """Whether a sync window allows or denies syncs while it is active."""

    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class SyncWindow(WireObject):
    """A sync window: a cron ``schedule`` opening it for ``duration``, and whom it concerns.

    Applications, namespaces and clusters are globs; a window concerns an app matching
    any of them, or all of them with ``andOperator``. ``manualSync`` lets manual syncs
    through a deny window.
    """

    kind: WindowKind
    schedule: str
    duration: str
    applications: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    manual_sync: bool = False
    time_zone: str = ""
    and_operator: bool = False
    description: str = ""

    @classmethod
    def read(cls, f: Fields) -> SyncWindow:
        """Parse one window; ``kind``, ``schedule`` and ``duration`` are required."""
        kind = f.choice("kind", WindowKind)
        if kind is None:
            raise SpecError(f.at("kind"), "is required (allow or deny)")
        for key in ("schedule", "duration"):
            if not f.text(key):
                raise SpecError(f.at(key), "is required")
        parse_duration(f.text("duration"), f.at("duration"))
        return cls(
            kind=kind,
            schedule=f.text("schedule"),
            duration=f.text("duration"),
            applications=f.texts("applications"),
            namespaces=f.texts("namespaces"),
            clusters=f.texts("clusters"),
            manual_sync=f.flag("manualSync"),
            time_zone=f.text("timeZone"),
            and_operator=f.flag("andOperator"),
            description=f.text("description"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune(
            {
                "kind": self.kind.value,
                "schedule": self.schedule,
                "duration": self.duration,
                "applications": list(self.applications),
                "namespaces": list(self.namespaces),
                "clusters": list(self.clusters),
                "manualSync": self.manual_sync,
                "timeZone": self.time_zone,
                "andOperator": self.and_operator,
                "description": self.description,
            }
        )

    @property
    def duration_seconds(self) -> float:
        """How long the window stays open once its schedule fires."""
        return parse_duration(self.duration, "duration")
