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

from typing import Any

from tether.localcluster.errors import Cause, bad_request, invalid
from tether.localcluster.options import WriteOptions
from tether.localcluster.resources import ResourceType
from tether.localcluster.schema import SchemaRegistry
from tether.localcluster.validation import (
    CauseType,
    FieldValidation,
    apply_defaults,
    prune,
    validate,
)


class SchemaAdmission:
    """Validates (and for custom resources defaults and prunes) every write."""

    def __init__(self, schemas: SchemaRegistry) -> None:
        """Check writes against ``schemas``."""
        self._schemas = schemas

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
        report = validate(
            _without_managed_fields(obj), schema, FieldValidation(options.field_validation)
        )
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


def _without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow view of ``obj`` without ``metadata.managedFields``.

    The field manager writes and checks managedFields itself (a malformed entry from a
    client is a 400 there); walking them again here would double a write's cost.
    """
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


def _replace(obj: dict[str, Any], new: dict[str, Any]) -> None:
    if new is not obj:
        obj.clear()
        obj.update(new)
