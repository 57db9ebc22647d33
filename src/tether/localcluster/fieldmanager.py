"""Field ownership: server-side apply and ``metadata.managedFields``.

Every write records which manager set which fields, in ``metadata.managedFields``
entries exactly as the API server writes them (``manager``, ``operation`` Apply or
Update, ``apiVersion``, ``time``, ``fieldsType: FieldsV1``, ``fieldsV1``,
``subresource``).

- :func:`server_side_apply` merges an applied configuration into the live object. The
  applier owns exactly the fields its configuration sets; a field it applied before and
  no longer applies is removed from the object unless another manager owns it; changing
  a field another manager owns is a conflict (:class:`ApplyConflictError`, the 409 the
  server returns) unless ``force`` is set, which takes the field over. Applying the
  same value as another manager shares ownership.
- :func:`record_update` records an ordinary write (create, update, patch): the writer
  takes ownership of every field it added or changed, with operation ``Update``;
  fields the write removed leave every manager's set.

Entries that own nothing are dropped. Identity and ignored fields follow upstream: an
Apply entry is keyed by manager and subresource, an Update entry also by apiVersion;
``apiVersion``, ``kind`` and the metadata the server sets (name, namespace, uid,
resourceVersion, generation, creationTimestamp, managedFields) are never owned. A
:class:`Scope` says which part of the object a write may touch: the whole object, the
object without ``status`` (kinds with a status subresource), or only ``status``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

import orjson

from tether.localcluster.fieldset import FieldSet, FieldsV1Error, format_path
from tether.localcluster.schema import Schema
from tether.localcluster.structured import StructureError, compare, fields_of, merge, remove
from tether.localcluster.timestamps import rfc3339

__all__ = [
    "AppliedFields",
    "ApplyConflictError",
    "ConfigurationError",
    "Conflict",
    "FieldManagerError",
    "ManagedFieldsError",
    "Operation",
    "Scope",
    "applied_fields",
    "managed_fields_of",
    "record_update",
    "server_side_apply",
]

BEFORE_FIRST_APPLY: Final = "before-first-apply"


class Operation(StrEnum):
    """The kind of write a managedFields entry records."""

    APPLY = "Apply"
    UPDATE = "Update"


class Scope(StrEnum):
    """The part of an object a write may change and own."""

    OBJECT = "object"
    """Kinds without a status subresource: everything."""
    MAIN = "main"
    """The main resource of a kind with a status subresource: everything but ``status``."""
    STATUS = "status"
    """The status subresource: ``status`` only."""


class FieldManagerError(Exception):
    """A write cannot be recorded or applied."""


class ManagedFieldsError(FieldManagerError):
    """``metadata.managedFields`` of an object or request is malformed (400 BadRequest)."""


class ConfigurationError(FieldManagerError):
    """An applied configuration does not fit its schema (a list item without its key)."""


@dataclass(frozen=True, slots=True)
class Conflict:
    """One applied field another manager owns with a different value."""

    manager: str
    """The owner as the server names it: ``"kubectl-client-side-apply" using apps/v1``."""
    path: str
    """The field: ``.spec.replicas``."""

    def __str__(self) -> str:
        return f"conflict with {self.manager}: {self.path}"


class ApplyConflictError(FieldManagerError):
    """Server-side apply would change fields other managers own (409 Conflict)."""

    def __init__(self, conflicts: Sequence[Conflict]) -> None:
        self.conflicts = tuple(conflicts)
        super().__init__(_conflict_message(self.conflicts))

    def causes(self) -> list[dict[str, str]]:
        """The ``details.causes`` of the 409 Status, one per conflicting field."""
        return [
            {
                "reason": "FieldManagerConflict",
                "message": f"conflict with {c.manager}",
                "field": c.path,
            }
            for c in self.conflicts
        ]


def _conflict_message(conflicts: tuple[Conflict, ...]) -> str:
    if len(conflicts) == 1:
        return f"Apply failed with 1 conflict: {conflicts[0]}"
    lines: list[str] = []
    for manager in sorted({c.manager for c in conflicts}):
        lines.append(f"conflicts with {manager}:")
        lines.extend(f"- {c.path}" for c in conflicts if c.manager == manager)
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


@dataclass(frozen=True, slots=True, order=True)
class _Key:
    """The identity of a managedFields entry."""

    manager: str
    operation: str
    subresource: str
    api_version: str

    def describe(self) -> str:
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == Operation.UPDATE:
            text += f" using {self.api_version}"
        return text


class _Entry:
    """A decoded managedFields entry; keeps its encoded form while its set is unchanged."""

    __slots__ = ("_fields", "api_version", "encoded", "time")

    def __init__(
        self,
        fields: FieldSet,
        api_version: str,
        time: str | None,
        encoded: dict[str, Any] | None = None,
    ) -> None:
        self._fields = fields
        self.api_version = api_version
        self.time = time
        self.encoded = encoded

    @property
    def fields(self) -> FieldSet:
        return self._fields

    @fields.setter
    def fields(self, value: FieldSet) -> None:
        if value != self._fields:
            self._fields = value
            self.encoded = None


_STRIPPED: Final = FieldSet.from_fields_v1(
    {
        "f:apiVersion": {},
        "f:kind": {},
        "f:metadata": {
            ".": {},
            "f:name": {},
            "f:namespace": {},
            "f:creationTimestamp": {},
            "f:selfLink": {},
            "f:uid": {},
            "f:generation": {},
            "f:managedFields": {},
            "f:resourceVersion": {},
        },
    }
)


def _timestamp(now: datetime) -> str:
    return rfc3339(now if now.utcoffset() == _NO_OFFSET else now.astimezone(UTC))


_NO_OFFSET: Final = timedelta(0)


def _decode(entries: Any) -> dict[_Key, _Entry]:
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ManagedFieldsError("metadata.managedFields must be a list")
    managers: dict[_Key, _Entry] = {}
    for n, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ManagedFieldsError(f"metadata.managedFields[{n}] must be an object")
        operation = entry.get("operation")
        if operation not in (Operation.APPLY, Operation.UPDATE):
            raise ManagedFieldsError(
                f"metadata.managedFields[{n}].operation: unsupported value {operation!r}"
            )
        if entry.get("fieldsType", "FieldsV1") != "FieldsV1":
            raise ManagedFieldsError(f"metadata.managedFields[{n}].fieldsType must be FieldsV1")
        api_version = str(entry.get("apiVersion") or "")
        key = _Key(
            str(entry.get("manager") or ""),
            operation,
            str(entry.get("subresource") or ""),
            api_version if operation == Operation.UPDATE else "",
        )
        document = entry.get("fieldsV1") or {}
        try:
            fields = FieldSet.from_fields_v1(document)
        except FieldsV1Error as error:
            raise ManagedFieldsError(f"metadata.managedFields[{n}].fieldsV1: {error}") from error
        previous = managers.get(key)
        if previous is not None:
            managers[key] = _Entry(fields.union(previous.fields), api_version, entry.get("time"))
        else:
            managers[key] = _Entry(fields, api_version, entry.get("time"), document)
    return managers


def _encode(managers: Mapping[_Key, _Entry]) -> list[dict[str, Any]]:
    def order(item: tuple[_Key, _Entry]) -> tuple[str, str, str, str, str]:
        key, entry = item
        return (key.operation, entry.time or "", key.manager, entry.api_version, key.subresource)

    encoded: list[dict[str, Any]] = []
    for key, entry in sorted(managers.items(), key=order):
        if entry.fields.empty():
            continue
        record: dict[str, Any] = {
            "manager": key.manager,
            "operation": str(key.operation),
            "apiVersion": entry.api_version,
        }
        if entry.time is not None:
            record["time"] = entry.time
        record["fieldsType"] = "FieldsV1"
        if entry.encoded is None:
            entry.encoded = entry.fields.to_fields_v1()
        record["fieldsV1"] = entry.encoded
        if key.subresource:
            record["subresource"] = key.subresource
        encoded.append(record)
    return encoded


def managed_fields_of(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``metadata.managedFields`` of an object, validated (``[]`` when absent)."""
    return _encode(_decode((obj.get("metadata") or {}).get("managedFields")))


def _subresource(scope: Scope, subresource: str | None) -> str:
    """The entry's ``subresource``: as given (``scale``), else implied by the scope."""
    if subresource is not None:
        return subresource
    return "status" if scope is Scope.STATUS else ""


def _body(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    """The object without its managedFields (what ownership is computed over)."""
    if not obj:
        return {}
    body = dict(obj)
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and "managedFields" in metadata:
        body["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return body


def _tracked(body: Mapping[str, Any], scope: Scope) -> Mapping[str, Any]:
    """The part of an object a write in ``scope`` owns."""
    if scope is Scope.MAIN:
        return {k: v for k, v in body.items() if k != "status"}
    if scope is Scope.STATUS:
        return {"status": body["status"]} if "status" in body else {}
    return body


def _reset(result: dict[str, Any], live: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
    """Undo what a write in ``scope`` may not change (the server's reset fields)."""
    if scope is Scope.MAIN:
        result.pop("status", None)
        if "status" in live:
            result["status"] = live["status"]
    elif scope is Scope.STATUS:
        status = result.get("status")
        result = {k: v for k, v in live.items()}
        if status is not None:
            result["status"] = status
        else:
            result.pop("status", None)
    return result


def _with_managed_fields(
    body: Mapping[str, Any], managers: Mapping[_Key, _Entry]
) -> dict[str, Any]:
    """A shallow copy of ``body`` carrying the encoded managedFields."""
    result = dict(body)
    metadata = {k: v for k, v in (result.get("metadata") or {}).items() if k != "managedFields"}
    encoded = _encode(managers)
    if encoded:
        metadata["managedFields"] = encoded
    result["metadata"] = metadata
    return result


def _finish(body: Mapping[str, Any], managers: Mapping[_Key, _Entry]) -> dict[str, Any]:
    """A private deep copy of ``body`` carrying the encoded managedFields."""
    copied: dict[str, Any] = orjson.loads(orjson.dumps(_with_managed_fields(body, managers)))
    return copied


def _owned_by_apply(body: Mapping[str, Any], schema: Schema | None) -> FieldSet:
    """The fields applying ``body`` sets, less those nobody owns."""
    try:
        return fields_of(body, schema).difference(_STRIPPED)
    except StructureError as error:
        raise ConfigurationError(f"failed to apply: {error}") from error


@dataclass(frozen=True, slots=True)
class AppliedFields:
    """The fields an applied configuration sets, and their ``fieldsV1`` document.

    The document goes into managedFields as it is: like every part of a stored object,
    it is never changed in place.
    """

    fields: FieldSet
    fields_v1: dict[str, Any]


def applied_fields(
    config: Mapping[str, Any], schema: Schema | None, scope: Scope = Scope.OBJECT
) -> AppliedFields:
    """The fields applying ``config`` in ``scope`` sets: what its manager comes to own.

    Raises :class:`ConfigurationError` when a map-list item lacks one of its keys.
    """
    fields = _owned_by_apply(_tracked(_body(config), scope), schema)
    return AppliedFields(fields, fields.to_fields_v1())


def server_side_apply(
    live: Mapping[str, Any] | None,
    config: Mapping[str, Any],
    *,
    manager: str,
    schema: Schema | None,
    now: datetime,
    force: bool = False,
    scope: Scope = Scope.OBJECT,
    subresource: str | None = None,
    known: AppliedFields | None = None,
) -> dict[str, Any]:
    """Apply ``config`` as ``manager`` to ``live`` (``None`` when creating).

    ``known`` is :func:`applied_fields` of the same configuration, schema and scope,
    for a caller that has it at hand; it is computed otherwise.

    ``subresource`` names the subresource the request addressed when ``scope`` does not
    imply it (``scale``). Returns the new object with its managedFields: it shares no
    value with ``live``, and when creating it shares values with ``config`` (which the
    caller must then no longer use). Raises :class:`ApplyConflictError` when the
    configuration changes fields other managers own and ``force`` is false,
    :class:`ManagedFieldsError` when
    the configuration sets managedFields or the live ones are malformed,
    :class:`ConfigurationError` when a map-list item lacks one of its keys.
    """
    if not manager:
        raise FieldManagerError("fieldManager is required for apply requests")
    if (config.get("metadata") or {}).get("managedFields") is not None:
        raise ManagedFieldsError("metadata.managedFields must be nil")
    api_version = str(config.get("apiVersion") or "")
    subresource = _subresource(scope, subresource)
    live_body = _body(live)
    managers = _decode((live or {}).get("metadata", {}).get("managedFields"))
    if live is not None and not managers:
        # An object written before anyone tracked ownership: its current fields belong
        # to a synthetic updater, so the first apply conflicts where it changes them.
        before = _owned_by_apply(_tracked(live_body, scope), schema)
        managers[_Key(BEFORE_FIRST_APPLY, Operation.UPDATE, "", api_version)] = _Entry(
            before, api_version, None
        )

    config_body = _tracked(_body(config), scope)
    applied = known.fields if known is not None else _owned_by_apply(config_body, schema)
    encoded = known.fields_v1 if known is not None else None
    key = _Key(manager, Operation.APPLY, subresource, "")
    previous = managers.get(key)

    merged = _reset(merge(live_body, config_body, schema), live_body, scope)
    if live is None:
        # A create: no manager owns anything yet and nothing can be removed, so the
        # comparison below (which finds conflicts and removed fields) has nothing to
        # find. Skipping it halves the cost of the first apply of an object.
        managers[key] = _Entry(applied, api_version, _timestamp(now), encoded)
        # Nor is a deep copy needed: without a live object, the result shares values
        # with ``config`` alone, which belongs to the caller's request.
        return _with_managed_fields(merged, managers)
    if previous is not None:
        others = FieldSet()
        for other_key, entry in managers.items():
            if other_key != key:
                others = others.union(entry.fields)
        merged = remove(merged, previous.fields.difference(applied), others.union(applied), schema)

    comparison = compare(_tracked(live_body, scope), _tracked(merged, scope), schema)
    changed = comparison.changed().difference(_STRIPPED)
    conflicts: dict[_Key, FieldSet] = {}
    for other_key, entry in managers.items():
        if other_key == key:
            continue
        overlap = entry.fields.intersection(changed)
        if not overlap.empty():
            conflicts[other_key] = overlap
    if conflicts and not force:
        raise ApplyConflictError(
            [
                Conflict(other_key.describe(), format_path(path))
                for other_key, overlap in sorted(conflicts.items())
                for path in sorted(overlap.leaves())
            ]
        )
    for other_key, overlap in conflicts.items():
        managers[other_key].fields = managers[other_key].fields.difference(overlap)
    removed = comparison.removed
    if not removed.empty():
        for entry in managers.values():
            entry.fields = entry.fields.difference(removed)
    unchanged = previous is not None and previous.fields == applied and comparison.same()
    time = previous.time if unchanged and previous is not None else _timestamp(now)
    reuse = previous.encoded if previous is not None and previous.fields == applied else None
    managers[key] = _Entry(applied, api_version, time, reuse or encoded)
    return _finish(merged, managers)


def record_update(
    live: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    *,
    manager: str,
    schema: Schema | None,
    now: datetime,
    scope: Scope = Scope.OBJECT,
    subresource: str | None = None,
) -> dict[str, Any]:
    """Record an ordinary write of ``new`` over ``live`` (``None`` when creating).

    ``manager`` takes every field the write added or changed (operation Update) and
    fields the write removed leave every entry. Returns ``new`` (a private copy) with
    its managedFields. If the request carries managedFields different from the live
    ones, they are taken as given (how clients reset ownership); ``[{}]`` clears them.
    ``subresource`` is recorded as for :func:`server_side_apply`.
    The server names a writer that gives no fieldManager after its User-Agent's
    program name (``kubectl-edit``, ``kubectl-label``), as upstream does.
    """
    if not manager:
        raise FieldManagerError("a field manager is required to record a write")
    new_meta = new.get("metadata") or {}
    live_entries = (live or {}).get("metadata", {}).get("managedFields")
    requested = new_meta.get("managedFields")
    if requested == [{}]:
        return _finish(_body(new), {})
    entries = requested if requested and requested != live_entries else live_entries
    managers = _decode(entries)

    api_version = str(new.get("apiVersion") or "")
    subresource = _subresource(scope, subresource)
    live_body = _body(live)
    new_body = _body(new)
    comparison = compare(_tracked(live_body, scope), _tracked(new_body, scope), schema)
    changed = comparison.changed().difference(_STRIPPED)
    removed = comparison.removed
    key = _Key(manager, Operation.UPDATE, subresource, api_version)
    for other_key, entry in managers.items():
        if other_key != key:
            entry.fields = entry.fields.difference(changed).difference(removed)
    previous = managers.get(key)
    owned = previous.fields.difference(removed) if previous is not None else FieldSet()
    mine = owned.union(changed)
    if previous is None or mine != previous.fields:
        managers[key] = _Entry(mine, api_version, _timestamp(now))
    return _finish(new_body, managers)
