"""The render cache: a bounded LRU of rendered sources, keyed by everything that matters.

A render is a pure function of (repository URL, commit, path, the source's options,
the tool and its version, the commits of ``ref`` sources it reads, the application
facts in its build environment, the operator settings). :func:`cache_key` hashes
exactly those into a hex digest; a refresh at an unchanged commit finds the key and
returns the stored, frozen objects without running a tool or parsing a byte.

The cache is bounded both by entry count and by the size of the stored objects (their
JSON size, measured once when stored); the least recently used entries go first.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from tether.render.request import RenderedSource


def cache_key(fields: Mapping[str, Any]) -> str:
    """A stable digest of ``fields`` (JSON-serialisable; key order does not matter)."""
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters of a :class:`RenderCache`."""

    hits: int
    misses: int
    entries: int
    bytes: int

    @property
    def hit_rate(self) -> float:
        """Hits over lookups (0 when nothing was looked up)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class RenderCache:
    """An LRU map from cache key to :class:`RenderedSource`, bounded in entries and bytes."""

    def __init__(self, *, max_entries: int = 2048, max_bytes: int = 512 * 1024 * 1024) -> None:
        """Keep at most ``max_entries`` renders and ``max_bytes`` of rendered objects."""
        if max_entries <= 0 or max_bytes <= 0:
            raise ValueError("cache bounds must be positive")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[RenderedSource, int]] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0

    def get(self, key: str) -> RenderedSource | None:
        """The render stored under ``key`` (now most recently used), or ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            self._misses += 1
            return None
        self._entries.move_to_end(key)
        self._hits += 1
        return entry[0]

    def put(self, key: str, rendered: RenderedSource, size: int) -> None:
        """Store ``rendered`` (``size`` bytes) under ``key``, evicting the oldest entries.

        A render larger than the whole cache is not stored.
        """
        if size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        self._entries[key] = (rendered, size)
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._bytes -= evicted

    def alias(self, old: str, new: str) -> bool:
        """Store the entry under ``old`` also under ``new``; ``False`` if ``old`` is absent.

        Used when a new commit is known not to change a render (generate paths).
        """
        entry = self._entries.get(old)
        if entry is None:
            return False
        self.put(new, entry[0], entry[1])
        return True

    def clear(self) -> None:
        """Drop every entry (counters are kept)."""
        self._entries.clear()
        self._bytes = 0

    @property
    def stats(self) -> CacheStats:
        """The current counters."""
        return CacheStats(self._hits, self._misses, len(self._entries), self._bytes)
