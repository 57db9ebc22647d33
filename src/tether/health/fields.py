"""Typed reads of fields from an object given as nested mappings.

Live objects arrive as decoded JSON. The built-in checks read them through these
helpers so that a missing field takes its Kubernetes zero value (``0``, ``""``,
``False``, empty) while a field of the wrong type raises :class:`FieldTypeError`,
which the dispatcher turns into ``Unknown`` as Argo CD's typed conversion does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tether.health.errors import FieldTypeError

Object = Mapping[str, Any]

_EMPTY: Mapping[str, Any] = {}


def _lookup(obj: Object, path: tuple[str, ...]) -> Any:
    value: Any = obj
    walked: list[str] = []
    for name in path:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise FieldTypeError(_dotted(walked), "object", value)
        walked.append(name)
        value = value.get(name)
    return value


def _dotted(path: Sequence[str]) -> str:
    return "." + ".".join(path) if path else "."


def mapping(obj: Object, *path: str) -> Object:
    """The mapping at ``path``; empty when absent."""
    value = _lookup(obj, path)
    if value is None:
        return _EMPTY
    if not isinstance(value, Mapping):
        raise FieldTypeError(_dotted(path), "object", value)
    return value


def items(obj: Object, *path: str) -> list[Any]:
    """The list at ``path``; empty when absent."""
    value = _lookup(obj, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldTypeError(_dotted(path), "array", value)
    return value


def mappings(obj: Object, *path: str) -> list[Object]:
    """The list of mappings at ``path`` (conditions, container statuses)."""
    found = items(obj, *path)
    for index, entry in enumerate(found):
        if not isinstance(entry, Mapping):
            raise FieldTypeError(f"{_dotted(path)}[{index}]", "object", entry)
    return found


def optional_int(obj: Object, *path: str) -> int | None:
    """The integer at ``path``, or ``None`` when absent (a Go ``*int32``)."""
    value = _lookup(obj, path)
    if value is None:
        return None
    # bool is an int in Python but never a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldTypeError(_dotted(path), "integer", value)
    if isinstance(value, float) and not value.is_integer():
        raise FieldTypeError(_dotted(path), "integer", value)
    return int(value)


def integer(obj: Object, *path: str) -> int:
    """The integer at ``path``; ``0`` when absent."""
    value = optional_int(obj, *path)
    return 0 if value is None else value


def text(obj: Object, *path: str) -> str:
    """The string at ``path``; ``""`` when absent."""
    value = _lookup(obj, path)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldTypeError(_dotted(path), "string", value)
    return value


def flag(obj: Object, *path: str) -> bool:
    """The boolean at ``path``; ``False`` when absent."""
    value = _lookup(obj, path)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise FieldTypeError(_dotted(path), "boolean", value)
    return value


def condition(obj: Object, condition_type: str) -> Object | None:
    """The first entry of ``status.conditions`` whose ``type`` is ``condition_type``."""
    for entry in mappings(obj, "status", "conditions"):
        if text(entry, "type") == condition_type:
            return entry
    return None
