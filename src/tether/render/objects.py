"""Rendered objects as immutable values.

A render result may be served from the cache to many callers, so the objects in it
must not be changed in place. :func:`freeze` turns parsed YAML (dicts, lists, scalars)
into read-only mappings and tuples; :func:`thaw` gives a caller its own mutable deep
copy (to patch, normalise or send to the API).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

#: A frozen Kubernetes object: read-only mappings, tuples and scalars all the way down.
FrozenObject = Mapping[str, Any]


def freeze(value: Any) -> Any:
    """A read-only deep copy of ``value`` (mappings become proxies, lists tuples)."""
    if isinstance(value, dict | MappingProxyType):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """A mutable deep copy of a frozen value (proxies become dicts, tuples lists)."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(item) for item in value]
    return value
