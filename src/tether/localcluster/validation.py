"""Validation, defaulting and pruning of objects against their schema.

:func:`validate` checks an object as the API server does on a write and returns a
:class:`ValidationReport` with

- field errors, each a cause of the 422 Invalid response: type, required, enum,
  pattern, lengths, bounds, unique set and map-list items, and the cheap formats
  (int32, int64, date-time, byte);
- unknown fields, and duplicate fields that :func:`find_duplicate_fields` found in the
  raw JSON body, which ``fieldValidation`` turns into a 400 (``Strict``), ``Warning``
  headers (``Warn``, the default) or nothing (``Ignore``).

Messages are the server's: ``spec.size: Invalid value: 11: spec.size in body should
be less than or equal to 10``, ``unknown field "spec.foo"``. Built-in kinds are
checked against their OpenAPI schema only (the server's hand-written validation, such
as name formats, is the caller's).

For custom resources the server also applies the structural schema's ``default``
values (:func:`apply_defaults`) and drops fields the schema does not declare unless it
preserves them with ``x-kubernetes-preserve-unknown-fields`` (:func:`prune`), along
with ``null`` values of fields that are not ``nullable``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, Final

import yaml

from tether.localcluster.schema import Schema

__all__ = [
    "CauseType",
    "FieldError",
    "FieldValidation",
    "ValidationReport",
    "apply_defaults",
    "find_duplicate_fields",
    "prune",
    "validate",
]


class FieldValidation(StrEnum):
    """The ``fieldValidation`` query parameter of a write."""

    STRICT = "Strict"
    WARN = "Warn"
    IGNORE = "Ignore"


class CauseType(StrEnum):
    """The ``reason`` of a Status cause, as the API server names it."""

    REQUIRED = "FieldValueRequired"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    TYPE_INVALID = "FieldValueTypeInvalid"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    DUPLICATE = "FieldValueDuplicate"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field: its path (``spec.containers[0].image``), reason and message."""

    field: str
    type: CauseType
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def cause(self) -> dict[str, str]:
        """The ``details.causes`` entry of the 422 Status."""
        return {"reason": self.type.value, "message": self.message, "field": self.field}


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of validating one object under one ``fieldValidation`` mode."""

    mode: FieldValidation
    errors: tuple[FieldError, ...] = ()
    unknown_fields: tuple[str, ...] = ()
    duplicate_fields: tuple[str, ...] = ()

    def _problems(self) -> tuple[str, ...]:
        return tuple(f'unknown field "{p}"' for p in self.unknown_fields) + tuple(
            f'duplicate field "{p}"' for p in self.duplicate_fields
        )

    @property
    def warnings(self) -> tuple[str, ...]:
        """``Warning`` header texts (Warn mode): ``unknown field "spec.foo"``."""
        return self._problems() if self.mode is FieldValidation.WARN else ()

    @property
    def strict_error(self) -> str | None:
        """The 400 BadRequest message Strict mode answers unknown or duplicate fields with."""
        problems = self._problems()
        if self.mode is not FieldValidation.STRICT or not problems:
            return None
        return "strict decoding error: " + ", ".join(problems)

    @property
    def ok(self) -> bool:
        """True when the write may proceed."""
        return not self.errors and self.strict_error is None


_INT_RANGES: Final = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def validate(
    obj: Mapping[str, Any],
    schema: Schema,
    mode: FieldValidation = FieldValidation.WARN,
    *,
    duplicate_fields: tuple[str, ...] = (),
) -> ValidationReport:
    """Validate ``obj`` against ``schema``; unknown fields are looked for unless Ignore.

    ``duplicate_fields`` are the paths :func:`find_duplicate_fields` found in the
    request body the object was decoded from; Warn and Strict report them.
    """
    find = mode is not FieldValidation.IGNORE
    walker = _Validator(find_unknown=find)
    walker.value(obj, schema, "")
    duplicates = duplicate_fields if find else ()
    return ValidationReport(mode, tuple(walker.errors), tuple(walker.unknown), duplicates)


class _Pairs(dict[str, Any]):
    """A decoded JSON object that remembers the keys it held more than once."""

    duplicates: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> _Pairs:
    out = _Pairs(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        repeated: list[str] = []
        for key, _ in pairs:
            if key in seen:
                repeated.append(key)
            seen.add(key)
        out.duplicates = tuple(repeated)
    return out


def find_duplicate_fields(body: bytes | str, *, yaml_body: bool = False) -> tuple[str, ...]:
    """Paths of object keys a request body repeats (``spec.replicas``); ``()`` if none.

    Decoders keep the last value silently, so this second look at the raw body is how
    Warn and Strict validation learn of them. ``yaml_body`` reads the body as YAML (an
    ``application/apply-patch+yaml`` request). A body that does not parse has none: the
    decoder's own error is the one to report.
    """
    if yaml_body:
        return _yaml_duplicates(body)
    try:
        document = json.loads(body, object_pairs_hook=_pairs)
    except ValueError:
        return ()
    found: list[str] = []
    _collect_duplicates(document, "", found)
    return tuple(found)


def _yaml_duplicates(body: bytes | str) -> tuple[str, ...]:
    try:
        root = yaml.compose(body, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return ()
    found: list[str] = []
    _collect_yaml_duplicates(root, "", found)
    return tuple(found)


def _collect_yaml_duplicates(node: yaml.Node | None, path: str, found: list[str]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                found.append(_join(path, name))
            seen.add(name)
            _collect_yaml_duplicates(value, _join(path, name), found)
    elif isinstance(node, yaml.SequenceNode):
        for n, item in enumerate(node.value):
            _collect_yaml_duplicates(item, f"{path}[{n}]", found)


def _collect_duplicates(value: Any, path: str, found: list[str]) -> None:
    if isinstance(value, _Pairs):
        found.extend(_join(path, key) for key in value.duplicates)
        for key, child in value.items():
            _collect_duplicates(child, _join(path, key), found)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _collect_duplicates(item, f"{path}[{n}]", found)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _matches(value: Any, types: frozenset[str]) -> bool:
    actual = _type_name(value)
    if actual in types:
        return True
    # JSON has one number type: a whole float is an integer, an integer is a number.
    if actual == "integer" and "number" in types:
        return True
    return actual == "number" and "integer" in types and float(value).is_integer()


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _go_map(value: dict[str, Any]) -> str:
    """A map-list key as the API server prints it (Go's ``%#v`` of an untyped map)."""
    fields = ", ".join(f"{_quote(k)}:{_quote(v)}" for k, v in sorted(value.items()))
    return "map[string]interface {}{" + fields + "}"


@cache
def _pattern(expression: str) -> re.Pattern[str]:
    return re.compile(expression)


class _Validator:
    __slots__ = ("errors", "find_unknown", "unknown")

    def __init__(self, *, find_unknown: bool) -> None:
        self.find_unknown = find_unknown
        self.errors: list[FieldError] = []
        self.unknown: list[str] = []

    def error(self, path: str, kind: CauseType, message: str) -> None:
        self.errors.append(FieldError(path, kind, message))

    def invalid(self, path: str, value: Any, text: str) -> None:
        """An OpenAPI constraint violation, worded as the API server words it."""
        self.errors.append(
            FieldError(
                path, CauseType.INVALID, f"Invalid value: {_quote(value)}: {path} in body {text}"
            )
        )

    def value(self, value: Any, schema: Schema, path: str) -> None:
        if value is None:
            # Built-in fields are nullable; in a custom resource a null the schema does
            # not allow is dropped before validation (apply_defaults, prune), not refused.
            return
        types = schema.types
        if schema.int_or_string:
            types = frozenset(("integer", "string"))
        if types and not _matches(value, types):
            expected = "/".join(sorted(types))
            actual = _type_name(value)
            self.error(
                path,
                CauseType.TYPE_INVALID,
                f'Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"',
            )
            return
        self.constraints(value, schema, path)
        if isinstance(value, dict):
            self.object(value, schema, path)
        elif isinstance(value, list):
            items = schema.items()
            if items is not None:
                for n, item in enumerate(value):
                    self.value(item, items, f"{path}[{n}]")
            self.unique(value, schema, path)

    def unique(self, items: list[Any], schema: Schema, path: str) -> None:
        """Set items and map-list keys must not repeat (declared list types only)."""
        declared = schema.raw.get("x-kubernetes-list-type")
        if declared not in ("set", "map"):
            return
        keys = schema.list_map_keys
        seen: list[Any] = []
        for n, item in enumerate(items):
            keyed = declared == "map" and isinstance(item, dict)
            identity = {k: item.get(k) for k in keys} if keyed else item
            if identity in seen:
                shown = _go_map(identity) if keyed else _quote(identity)
                self.error(f"{path}[{n}]", CauseType.DUPLICATE, f"Duplicate value: {shown}")
            else:
                seen.append(identity)

    def object(self, value: Mapping[str, Any], schema: Schema, path: str) -> None:
        for name in schema.required:
            if name not in value:
                self.error(_join(path, name), CauseType.REQUIRED, "Required value")
        properties = schema.properties
        values = schema.values()
        free = schema.preserves_unknown_fields
        for name, child in value.items():
            if name in properties or (
                schema.embedded_resource and name in ("apiVersion", "kind", "metadata")
            ):
                sub = schema.field(name)
                if sub is not None:
                    self.value(child, sub, _join(path, name))
            elif values is not None:
                self.value(child, values, f"{path}[{name}]" if path else name)
            elif not free and self.find_unknown:
                self.unknown.append(_join(path, name))

    def constraints(self, value: Any, schema: Schema, path: str) -> None:
        raw = schema.raw
        enum = raw.get("enum")
        if enum is not None and value not in enum:
            supported = ", ".join(_quote(v) for v in enum)
            self.error(
                path,
                CauseType.NOT_SUPPORTED,
                f"Unsupported value: {_quote(value)}: supported values: {supported}",
            )
        if isinstance(value, str):
            self.string(value, raw, path)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self.number(value, raw, path)
        elif isinstance(value, list):
            if "maxItems" in raw and len(value) > raw["maxItems"]:
                self.error(
                    path,
                    CauseType.TOO_MANY,
                    f"Too many: {len(value)}: must have at most {raw['maxItems']} items",
                )
            if "minItems" in raw and len(value) < raw["minItems"]:
                self.invalid(path, len(value), f"should have at least {raw['minItems']} items")

    def string(self, value: str, raw: Mapping[str, Any], path: str) -> None:
        if "maxLength" in raw and len(value) > raw["maxLength"]:
            self.error(
                path, CauseType.TOO_LONG, f"Too long: may not be more than {raw['maxLength']} bytes"
            )
        if "minLength" in raw and len(value) < raw["minLength"]:
            self.invalid(path, value, f"should be at least {raw['minLength']} chars long")
        pattern = raw.get("pattern")
        if pattern is not None and _pattern(pattern).search(value) is None:
            self.invalid(path, value, f"should match '{pattern}'")
        fmt = raw.get("format")
        if fmt == "date-time":
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                self.invalid(path, value, f"must be of type date-time: {_quote(value)}")
        elif fmt == "byte":
            try:
                base64.b64decode(value, validate=True)
            except binascii.Error:
                self.invalid(path, value, f"must be of type byte: {_quote(value)}")

    def number(self, value: float, raw: Mapping[str, Any], path: str) -> None:
        bounds = _INT_RANGES.get(raw.get("format", ""))
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            self.invalid(path, value, f"is out of range for {raw['format']}")
        if "minimum" in raw:
            exclusive = raw.get("exclusiveMinimum") is True
            if value < raw["minimum"] or (exclusive and value == raw["minimum"]):
                relation = "greater than" if exclusive else "greater than or equal to"
                self.invalid(path, value, f"should be {relation} {raw['minimum']}")
        if "maximum" in raw:
            exclusive = raw.get("exclusiveMaximum") is True
            if value > raw["maximum"] or (exclusive and value == raw["maximum"]):
                relation = "less than" if exclusive else "less than or equal to"
                self.invalid(path, value, f"should be {relation} {raw['maximum']}")


def apply_defaults(obj: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    """A copy of ``obj`` with the schema's ``default`` values filled in where absent.

    As the API server defaults custom resources: ``null`` values of fields that are not
    ``nullable`` are dropped first (so a default can replace them), then defaults apply
    at every depth to fields of objects that exist (a default object gets its own
    nested defaults too).
    """
    result = copy.deepcopy(dict(obj))
    _default(result, schema)
    return result


def _default(value: Any, schema: Schema) -> None:
    if isinstance(value, dict):
        for name in [n for n, v in value.items() if v is None]:
            sub = schema.field(name)
            if sub is not None and sub.crd and not sub.get("nullable", False):
                del value[name]
        for name, raw in schema.properties.items():
            if name not in value and isinstance(raw, Mapping) and "default" in raw:
                value[name] = copy.deepcopy(raw["default"])
        for name, child in value.items():
            sub = schema.field(name)
            if sub is not None and isinstance(child, dict | list):
                _default(child, sub)
    elif isinstance(value, list):
        items = schema.items()
        if items is not None:
            for item in value:
                if isinstance(item, dict | list):
                    _default(item, items)


def prune(obj: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    """A copy of ``obj`` without the fields its structural schema does not keep.

    Undeclared fields go unless ``x-kubernetes-preserve-unknown-fields`` keeps them;
    ``null`` goes where the field is not ``nullable``. ``apiVersion``, ``kind`` and
    ``metadata`` of the object and of embedded resources always stay.
    """
    result = _prune(obj, schema)
    return result if isinstance(result, dict) else {}


def _prune(value: Any, schema: Schema) -> Any:
    if isinstance(value, dict):
        properties = schema.properties
        values = schema.values()
        free = schema.preserves_unknown_fields
        out: dict[str, Any] = {}
        for name, child in value.items():
            declared = name in properties or (
                schema.embedded_resource and name in ("apiVersion", "kind", "metadata")
            )
            sub = schema.field(name) if declared or values is not None else None
            if sub is None:
                if free:
                    out[name] = copy.deepcopy(child)
                continue
            if child is None and sub.crd and not sub.get("nullable", False):
                continue
            out[name] = _prune(child, sub)
        return out
    if isinstance(value, list):
        items = schema.items()
        if items is None:
            return copy.deepcopy(value)
        return [_prune(item, items) for item in value]
    return value
