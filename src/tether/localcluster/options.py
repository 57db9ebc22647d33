"""The options and results of the store's verbs (query parameters and answers on the wire)."""

from __future__ import annotations

from dataclasses import dataclass

from tether.localcluster.watch import Entry


@dataclass(frozen=True)
class WriteOptions:
    """Options every write accepts (query parameters on the wire)."""

    dry_run: bool = False
    field_manager: str | None = None
    #: ``Strict``, ``Warn`` or ``Ignore`` (the server's default is ``Warn``).
    field_validation: str = "Warn"
    #: For server-side apply: take ownership of conflicting fields.
    force: bool = False
    #: The subresource written (``status``, ``scale``) or ``""`` for the object itself.
    subresource: str = ""
    #: Set by server-side apply, whose managedFields are already computed.
    applied: bool = False


@dataclass(frozen=True)
class DeleteOptions:
    """How to delete (``DeleteOptions`` on the wire)."""

    propagation: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    grace_period_seconds: int | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class Written:
    """The result of a write: the stored (or would-be stored) object and any warnings."""

    entry: Entry
    created: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Deleted:
    """The result of a delete: the object, and whether it is gone or only marked."""

    entry: Entry
    gone: bool


@dataclass(frozen=True)
class Listed:
    """A page of a list."""

    entries: list[Entry]
    resource_version: int
    continue_token: str = ""
    remaining: int | None = None
