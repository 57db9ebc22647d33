"""Field ownership on the write path: server-side apply and ``Update`` records.

:class:`Applier` adapts :mod:`tether.localcluster.fieldmanager` to the store:

- :meth:`Applier.apply` serves ``application/apply-patch+yaml``: it merges the applied
  configuration into the stored object (or creates it), raising the 409 a real server
  returns when another manager owns a changed field and ``force`` is not set;
- :meth:`Applier.track`, registered as an admitter, records every ordinary write
  (create, update, patch, status and scale writes, controller writes) as an ``Update``
  by its field manager, so ``managedFields`` reads as on a real cluster.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Final

from tether.localcluster import admission
from tether.localcluster.body import decode_object
from tether.localcluster.errors import APIError, Cause, bad_request, invalid, not_found
from tether.localcluster.fieldmanager import (
    AppliedFields,
    ApplyConflictError,
    FieldManagerError,
    ManagedFieldsError,
    Scope,
    applied_fields,
    record_update,
    server_side_apply,
)
from tether.localcluster.options import WriteOptions, Written
from tether.localcluster.resources import ResourceType
from tether.localcluster.schema import Schema, SchemaRegistry
from tether.localcluster.store import Store
from tether.localcluster.watch import Entry

#: How many recent apply bodies keep their field sets (a sync's dry runs all come first).
_REMEMBERED_BODIES: Final = 8192

#: The manager of writes that name none (in-process controllers name themselves).
DEFAULT_MANAGER = "tether-local-cluster"


def scope_of(rtype: ResourceType, subresource: str) -> Scope:
    """Which part of an object a write to ``subresource`` owns."""
    if subresource == "status":
        return Scope.STATUS
    return Scope.MAIN if rtype.status else Scope.OBJECT


class Applier:
    """Server-side apply and managedFields bookkeeping for one store."""

    def __init__(self, store: Store, schemas: SchemaRegistry) -> None:
        """Record ownership of writes to ``store``; register as its admitter."""
        self._store = store
        self._schemas = schemas
        self._applied: OrderedDict[tuple[Schema | None, Scope, bytes], AppliedFields] = (
            OrderedDict()
        )
        store.add_admitter(self.track)

    def _schema(self, rtype: ResourceType) -> Schema | None:
        return self._schemas.lookup(rtype.api_version(), rtype.kind)

    def _applied_fields(
        self, body: bytes, config: dict[str, Any], schema: Schema | None, scope: Scope
    ) -> AppliedFields:
        """:func:`applied_fields` of ``config``, decoded from ``body``, remembered by body.

        A sync dry-runs each object and then applies the very same bytes: the same body,
        schema and scope give the same configuration and so the same fields (neither the
        set nor its document is ever changed in place). Bodies are told apart by a
        256-bit BLAKE2 digest.
        """
        key = (schema, scope, hashlib.blake2b(body, digest_size=32).digest())
        fields = self._applied.get(key)
        if fields is not None:
            self._applied.move_to_end(key)
            return fields
        fields = applied_fields(config, schema, scope)
        self._applied[key] = fields
        if len(self._applied) > _REMEMBERED_BODIES:
            self._applied.popitem(last=False)
        return fields

    def track(
        self,
        rtype: ResourceType,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        options: WriteOptions,
    ) -> list[str]:
        """Record ``obj`` replacing ``old`` as an ``Update`` by the write's manager."""
        if options.applied:
            return []
        try:
            recorded = record_update(
                old,
                obj,
                manager=options.field_manager or DEFAULT_MANAGER,
                schema=self._schema(rtype),
                now=self._store.clock(),
                scope=scope_of(rtype, options.subresource),
            )
        except ManagedFieldsError as error:
            raise bad_request(str(error)) from None
        managed = recorded["metadata"].get("managedFields")
        if managed:
            obj["metadata"]["managedFields"] = managed
        else:
            obj["metadata"].pop("managedFields", None)
        return []

    async def apply(
        self,
        rtype: ResourceType,
        current: Entry | None,
        namespace: str | None,
        name: str,
        body: bytes,
        options: WriteOptions,
    ) -> Written:
        """Server-side apply ``body`` to ``name``; create it if it does not exist."""
        if not options.field_manager:
            raise invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [
                    Cause(
                        "fieldManager",
                        "Required value: is required for apply patch",
                        "FieldValueRequired",
                    )
                ],
            )
        config = decode_object(body, "application/apply-patch+yaml")
        admission.check_type(rtype, config, rtype.version)
        meta = admission.metadata_of(config)
        if meta.get("name") not in (None, name):
            raise bad_request(
                f"the name of the object ({meta.get('name')}) does not match "
                f"the name on the URL ({name})"
            )
        if current is None and options.subresource:
            raise not_found(rtype.ref, name)
        applied = WriteOptions(
            dry_run=options.dry_run,
            field_manager=options.field_manager,
            field_validation=options.field_validation,
            force=options.force,
            subresource=options.subresource,
            applied=True,
        )
        schema = self._schema(rtype)
        scope = scope_of(rtype, options.subresource)
        try:
            new = server_side_apply(
                current.obj if current is not None else None,
                config,
                manager=options.field_manager,
                schema=schema,
                now=self._store.clock(),
                force=options.force,
                scope=scope,
                known=self._applied_fields(body, config, schema, scope),
            )
        except ApplyConflictError as error:
            raise APIError(
                409,
                "Conflict",
                str(error),
                causes=[
                    Cause(c.path, f"conflict with {c.manager}", "FieldManagerConflict")
                    for c in error.conflicts
                ],
            ) from None
        except FieldManagerError as error:
            raise bad_request(str(error)) from None
        new["metadata"]["name"] = name
        if current is None:
            new["metadata"].pop("resourceVersion", None)
            return await self._store.create(rtype, namespace, new, applied)
        return await self._store.replace_with(rtype, current, new, applied)
