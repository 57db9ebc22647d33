"""Secret masking: Secret values never leave the diff package in clear.

Every value under a ``v1/Secret``'s ``data`` and ``stringData`` (``stringData`` is
compared in its base64 form, as the server stores it) is replaced by a placeholder
``++++++++ <n>``. Placeholders are numbered per key, in order of first appearance
across the objects masked together (desired, then live, then predicted): the same
value on both sides gets the same number, a different value a different number, and
nothing about the value (not even its length) is revealed. The
``last-applied-configuration`` annotation is masked the same way, so a Secret applied
client-side cannot leak through its annotation.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson

from tether.diff.normalize import copy_object, is_secret
from tether.model import keys

_SECRET_FIELDS = ("data", "stringData")
#: Replaces an annotation that cannot be parsed, so it cannot be masked field by field.
UNPARSEABLE = "<masked: unparseable>"


def placeholder(number: int) -> str:
    """The placeholder for the ``number``-th distinct value of a key."""
    return f"++++++++ {number}"


class Masker:
    """Numbers distinct values per key; share one across the objects shown side by side."""

    def __init__(self) -> None:
        self._numbers: dict[str, dict[str, int]] = {}

    def mask_value(self, key: str, value: Any, *, encoded: bool) -> str:
        """The placeholder for ``value`` (plaintext unless ``encoded``) at ``key``."""
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        canonical = text if encoded else base64.b64encode(text.encode()).decode()
        numbers = self._numbers.setdefault(key, {})
        return placeholder(numbers.setdefault(canonical, len(numbers) + 1))

    def mask(self, obj: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """A masked copy of ``obj`` (an unchanged copy if it is not a Secret)."""
        if obj is None:
            return None
        result = copy_object(obj)
        if not is_secret(result):
            return result
        self._mask_fields(result)
        annotations = (result.get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict) and keys.LAST_APPLIED in annotations:
            annotations[keys.LAST_APPLIED] = self._mask_last_applied(annotations[keys.LAST_APPLIED])
        return result

    def _mask_fields(self, secret: dict[str, Any]) -> None:
        for field in _SECRET_FIELDS:
            values = secret.get(field)
            if isinstance(values, dict):
                secret[field] = {
                    name: self.mask_value(str(name), value, encoded=field == "data")
                    for name, value in values.items()
                }
            elif values is not None:
                secret[field] = UNPARSEABLE

    def _mask_last_applied(self, text: Any) -> str:
        try:
            applied = orjson.loads(text)
        except (orjson.JSONDecodeError, TypeError):
            return UNPARSEABLE
        if not isinstance(applied, dict):
            return UNPARSEABLE
        self._mask_fields(applied)
        return orjson.dumps(applied, option=orjson.OPT_SORT_KEYS).decode()


def mask_secrets(*objects: Mapping[str, Any] | None) -> list[dict[str, Any] | None]:
    """Masked copies of ``objects``, numbered together (see the module docstring)."""
    masker = Masker()
    return [masker.mask(obj) for obj in objects]


def mask_secret(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A masked copy of one object, for showing a live object on its own."""
    masked = Masker().mask(obj)
    assert masked is not None
    return masked
