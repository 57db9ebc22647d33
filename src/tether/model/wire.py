"""Reading and writing Argo CD's wire form.

Every ``from_dict`` in this package reads its input through :class:`Fields`, a mapping
seen at a known path: each getter checks the value's type and raises :class:`SpecError`
naming the exact field (``spec.syncPolicy.retry.backoff.factor``). Every ``to_dict``
writes through :func:`prune`, which drops empty fields the way Go's ``omitempty`` does,
so that what tether writes is what Argo CD writes.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self, TypeVar

from tether.model.specerror import SpecError

_E = TypeVar("_E", bound=StrEnum)


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
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
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


class Fields:
    """An object of the wire form, read at ``path`` with typed, path-reporting getters.

    Absent and ``null`` fields read as the default, as they do in Argo CD. Numbers and
    booleans are accepted where strings are expected, because YAML turns ``1`` and
    ``true`` into them; the reverse is an error.
    """

    __slots__ = ("data", "path")

    def __init__(self, data: Any, path: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise SpecError(path, f"expected an object, got {json_type(data)}")
        self.data: Mapping[str, Any] = data
        self.path = path

    def at(self, key: str) -> str:
        """The path of one field of this object."""
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        """Whether the field is present and not null."""
        return self.data.get(key) is not None

    def text(self, key: str, default: str = "") -> str:
        """A string field."""
        return _text(self.data.get(key), self.at(key), default)

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean field."""
        value = self.opt_flag(key)
        return default if value is None else value

    def opt_flag(self, key: str) -> bool | None:
        """A boolean field whose absence means something (Go's ``*bool``)."""
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise SpecError(self.at(key), f"expected a boolean, got {json_type(value)}")

    def integer(self, key: str, default: int = 0) -> int:
        """An integer field."""
        value = self.opt_integer(key)
        return default if value is None else value

    def opt_integer(self, key: str) -> int | None:
        """An integer field whose absence means something (Go's ``*int64``)."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            return int(value)  # JSON has one number type; 2.0 is an integer
        if not isinstance(value, int) or isinstance(value, bool):
            raise SpecError(self.at(key), f"expected an integer, got {json_type(value)}")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of strings."""
        items = self.data.get(key)
        if items is None:
            return ()
        if not isinstance(items, list | tuple):
            raise SpecError(self.at(key), f"expected an array, got {json_type(items)}")
        return tuple(_text(item, f"{self.at(key)}[{i}]", "") for i, item in enumerate(items))

    def text_map(self, key: str) -> dict[str, str]:
        """An object whose values are strings (labels, annotations)."""
        items = Fields(self.data.get(key), self.at(key))
        return {str(k): items.text(str(k)) for k in items.data}

    def child(self, key: str) -> Fields | None:
        """A nested object, or ``None`` when absent."""
        value = self.data.get(key)
        return None if value is None else Fields(value, self.at(key))

    def children(self, key: str) -> list[Fields]:
        """A list of objects."""
        items = self.data.get(key)
        if items is None:
            return []
        if not isinstance(items, list | tuple):
            raise SpecError(self.at(key), f"expected an array, got {json_type(items)}")
        return [Fields(item, f"{self.at(key)}[{i}]") for i, item in enumerate(items)]

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        """A nested object kept as data, or ``None`` when absent."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise SpecError(self.at(key), f"expected an object, got {json_type(value)}")
        return value

    def rest(self, typed: Iterable[str]) -> dict[str, Any]:
        """The fields not in ``typed``, kept as data so that writing back loses nothing."""
        known = set(typed)
        return {k: v for k, v in self.data.items() if k not in known}

    def timestamp(self, key: str) -> datetime | None:
        """An RFC 3339 time, or ``None`` when absent."""
        value = self.data.get(key)
        return None if value is None else parse_time(value, self.at(key))

    def choice(self, key: str, kind: type[_E]) -> _E | None:
        """A string that must be one of an enum's values, or ``None`` when absent or empty."""
        value = self.text(key)
        if not value:
            return None
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise SpecError(self.at(key), f"unknown value {value!r} (one of {allowed})") from None


class WireObject(ABC):
    """A value of the wire form that reads itself from :class:`Fields`.

    Subclasses implement :meth:`read`; every one of them then offers the package's uniform
    ``from_dict(data, path)``.
    """

    __slots__ = ()

    @classmethod
    @abstractmethod
    def read(cls, f: Fields) -> Self:
        """Parse from a reader positioned at this value's path."""

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Self:
        """Parse from the wire form, raising :class:`SpecError` naming the bad field."""
        return cls.read(Fields(data, path))


def _text(value: Any, path: str, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise SpecError(path, f"expected a string, got {json_type(value)}")


def prune(value: dict[str, Any]) -> dict[str, Any]:
    """Drop empty fields, as Go's ``omitempty`` does (``None``, ``""``, ``[]``, ``{}``, ``False``).

    Zero integers are not dropped here: callers pass ``None`` for an omitted integer,
    because some of Argo CD's integers are written even when zero.
    """
    return {k: v for k, v in value.items() if not _empty(v)}


def _empty(value: Any) -> bool:
    # Identity for False: 0 == False in Python, and a zero must survive when it is passed.
    return value is None or value is False or (isinstance(value, str | list | dict) and not value)


def enum_value(value: StrEnum | None) -> str | None:
    """The plain string of an enum member (YAML and JSON writers want ``str``), or ``None``."""
    return None if value is None else value.value


# --- time --------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_time(value: Any, path: str) -> datetime:
    """Parse an RFC 3339 time (``2024-05-01T12:00:00Z``) into an aware UTC datetime."""
    if isinstance(value, datetime):  # YAML loaders may already have parsed it
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        raise SpecError(path, f"expected an RFC 3339 time, got {value!r}")
    date, clock, fraction, zone = match.groups()
    micros = (fraction or ".0")[1:7].ljust(6, "0")
    offset = "+00:00" if zone in ("Z", "z") else zone
    try:
        parsed = datetime.fromisoformat(f"{date}T{clock}.{micros}{offset}")
    except ValueError as error:
        raise SpecError(path, f"expected an RFC 3339 time, got {value!r}") from error
    return parsed.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    """Write a time as Kubernetes does: UTC with a ``Z``, fractions only when present."""
    if value is None:
        return None
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


# --- durations ---------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_duration(value: str, path: str) -> float:
    """Seconds in a Go duration (``5s``, ``3m``, ``1h30m``, ``500ms``).

    A bare number is seconds, as Argo CD reads ``retry.backoff.duration``.
    """
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    position, total = 0, 0.0
    for part in _DURATION_PART.finditer(body):
        if part.start() != position:
            break
        total += float(part.group(1)) * _UNIT_SECONDS[part.group(2)]
        position = part.end()
    if not body or position != len(body):
        raise SpecError(path, f"expected a duration such as 5s, 3m or 1h, got {value!r}")
    return sign * total
