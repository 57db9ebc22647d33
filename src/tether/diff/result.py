"""The values a comparison produces.

One :class:`ResourceDiff` per object, one :class:`ChangeSet` per application.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tether.model import ResourceKey, SyncStatus


class DiffState(StrEnum):
    """Where one object stands."""

    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    #: Declared in Git, absent from the cluster: to create.
    MISSING = "Missing"
    #: Live and tracked by the application but no longer declared: a prune candidate.
    EXTRANEOUS = "Extraneous"


@dataclass(frozen=True, slots=True, eq=True)
class ResourceDiff:
    """The comparison of one object. The object forms are normalised and secret-masked.

    ``desired`` is the normalised manifest, ``live`` the normalised live object and
    ``predicted`` what the live object becomes once the manifest is applied (or what a
    server-side dry run returned). ``diff`` is a unified YAML diff from ``live`` to
    ``predicted`` (keys sorted; empty when synced) and ``paths`` the JSON pointers of
    the fields that differ. The mappings are shared with the comparison cache: treat
    them as read-only.
    """

    key: ResourceKey
    state: DiffState
    desired: Mapping[str, Any] | None = field(default=None, hash=False)
    live: Mapping[str, Any] | None = field(default=None, hash=False)
    predicted: Mapping[str, Any] | None = field(default=None, hash=False)
    diff: str = ""
    paths: tuple[str, ...] = ()
    #: False for an extraneous object whose live form carries ``IgnoreExtraneous``.
    affects_sync: bool = True

    @property
    def sync_status(self) -> SyncStatus:
        """This object's contribution to the application's sync status."""
        if self.state is DiffState.SYNCED or not self.affects_sync:
            return SyncStatus.SYNCED
        return SyncStatus.OUT_OF_SYNC

    @property
    def requires_pruning(self) -> bool:
        """Whether the object is extraneous (pruning is still up to the sync policy)."""
        return self.state is DiffState.EXTRANEOUS


@dataclass(frozen=True, slots=True)
class ComparisonFailure:
    """An object that could not be compared; the message never contains field values."""

    key: ResourceKey
    message: str


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Every object of an application, compared; ordered by key."""

    results: tuple[ResourceDiff, ...] = ()
    failures: tuple[ComparisonFailure, ...] = ()

    @property
    def sync_status(self) -> SyncStatus:
        """``Unknown`` if any object failed, else ``OutOfSync`` if any object counts."""
        if self.failures:
            return SyncStatus.UNKNOWN
        if any(r.sync_status is SyncStatus.OUT_OF_SYNC for r in self.results):
            return SyncStatus.OUT_OF_SYNC
        return SyncStatus.SYNCED

    def with_state(self, state: DiffState) -> tuple[ResourceDiff, ...]:
        """The results in ``state``."""
        return tuple(r for r in self.results if r.state is state)
