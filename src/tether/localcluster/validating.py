"""Schema admission: validation, defaulting and pruning on every write.

:class:`SchemaAdmission` is the store admitter that checks each object against the
schema of its kind (:mod:`tether.localcluster.validation` over
:mod:`tether.localcluster.schema`): field errors are a ``422 Invalid`` listing every
cause (a value of the wrong JSON type in a built-in kind is a ``400``, as it fails
decoding on a real server); unknown fields are a ``400 BadRequest`` under
``fieldValidation=Strict``, ``Warning`` headers under ``Warn`` (the default) and nothing
under ``Ignore``; either way they are not stored. Custom
resources are defaulted from their structural schema first and pruned after, as
kube-apiserver does.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Final

import orjson

from tether.localcluster.errors import Cause, bad_request, invalid
from tether.localcluster.options import WriteOptions
from tether.localcluster.resources import ResourceType
from tether.localcluster.schema import Schema, SchemaRegistry
from tether.localcluster.validation import (
    CauseType,
    FieldValidation,
    ValidationReport,
    apply_defaults,
    prune,
    validate,
)


class SchemaAdmission:
    """Validates (and for custom resources defaults and prunes) every write."""

    def __init__(self, schemas: SchemaRegistry) -> None:
        """Check writes against ``schemas``."""
        self._schemas = schemas
        self._reports = _Reports()

    def __call__(
        self,
        rtype: ResourceType,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        options: WriteOptions,
    ) -> list[str]:
        """Check ``obj``; change it in place (defaults, pruning); return warnings."""
        # The schema of the version the client wrote (served versions may differ).
        written = obj.get("apiVersion")
        version = written if isinstance(written, str) else rtype.api_version()
        schema = self._schemas.lookup(version, rtype.kind)
        if schema is None:
            return []
        if rtype.custom:
            _replace(obj, apply_defaults(obj, schema))
        report = self._reports.validate(obj, schema, FieldValidation(options.field_validation))
        mistyped = [e for e in report.errors if e.type is CauseType.TYPE_INVALID]
        if mistyped and not rtype.custom:
            # Built-in kinds are decoded into typed structs before validation, so a value
            # of the wrong JSON type fails decoding: a 400, not a 422.
            raise bad_request(
                f'{rtype.kind} in version "{rtype.version}" cannot be handled as a '
                f"{rtype.kind}: {mistyped[0]}"
            )
        if report.errors:
            raise invalid(
                rtype.kind,
                rtype.group,
                obj["metadata"].get("name", ""),
                [Cause(e.field, e.message, e.type.value) for e in report.errors],
            )
        if report.strict_error is not None:
            raise bad_request(report.strict_error)
        # Unknown fields are never stored: custom resources are pruned by their structural
        # schema, built-in kinds lose them decoding into typed structs on a real server.
        mode = FieldValidation(options.field_validation)
        if rtype.custom or report.unknown_fields or mode is FieldValidation.IGNORE:
            _replace(obj, prune(obj, schema))
        return list(report.warnings)


#: Metadata that validation does not look at (managedFields: the field manager checks
#: them itself, and walking them again would double a write's cost) or that never
#: differs in validity (uid and creationTimestamp: the server sets both, on create and on
#: every update, to values of its own making, so they are valid by construction).
_UNCHECKED_METADATA: Final = frozenset({"managedFields", "uid", "creationTimestamp"})


def _checked_view(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow view of ``obj`` without the metadata validation leaves out."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or _UNCHECKED_METADATA.isdisjoint(meta):
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k not in _UNCHECKED_METADATA}}


class _Reports:
    """Validation reports of recent writes, by schema, mode and content.

    A sync dry-runs every object and then applies it: two writes of the same content
    moments apart, the second validated again for nothing. Validation is a pure
    function of the checked content, the schema and the mode, so a report is reused
    when all three are the same; the content is identified by a 256-bit BLAKE2 digest
    of its JSON (a collision is not a practical possibility), and the schema by
    identity (a changed CRD registers a new schema object).
    """

    def __init__(self, size: int = 8192) -> None:
        self._size = size
        self._known: OrderedDict[tuple[Schema, FieldValidation, bytes], ValidationReport] = (
            OrderedDict()
        )

    def validate(
        self, obj: dict[str, Any], schema: Schema, mode: FieldValidation
    ) -> ValidationReport:
        view = _checked_view(obj)
        try:
            content = orjson.dumps(view)
        except TypeError:  # not JSON (nothing decoded from a request is): no caching
            return validate(view, schema, mode)
        key = (schema, mode, hashlib.blake2b(content, digest_size=32).digest())
        report = self._known.get(key)
        if report is not None:
            self._known.move_to_end(key)
            return report
        report = validate(view, schema, mode)
        self._known[key] = report
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return report


def _replace(obj: dict[str, Any], new: dict[str, Any]) -> None:
    if new is not obj:
        obj.clear()
        obj.update(new)
