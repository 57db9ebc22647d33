from __future__ import annotations

import pytest

from tether.render.cache import RenderCache, cache_key
from tether.render.detect import Tool
from tether.render.request import RenderedSource


def entry(name: str) -> RenderedSource:
    return RenderedSource(index=0, tool=Tool.DIRECTORY, objects=(), cache_key=name)


def test_cache_key_ignores_mapping_order_and_sees_every_value() -> None:
    assert cache_key({"a": 1, "b": [1, 2]}) == cache_key({"b": [1, 2], "a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})
    assert len(cache_key({})) == 64


def test_least_recently_used_entry_goes_first_by_count() -> None:
    cache = RenderCache(max_entries=2)
    cache.put("a", entry("a"), 10)
    cache.put("b", entry("b"), 10)
    assert cache.get("a") == entry("a")  # "a" is now the most recently used
    cache.put("c", entry("c"), 10)
    assert cache.get("b") is None
    assert [cache.get(k) is not None for k in ("a", "c")] == [True, True]


def test_bytes_bound_evicts_and_oversized_entries_are_not_stored() -> None:
    cache = RenderCache(max_entries=10, max_bytes=100)
    cache.put("a", entry("a"), 60)
    cache.put("b", entry("b"), 60)
    assert cache.get("a") is None
    assert cache.stats.bytes == 60
    cache.put("huge", entry("huge"), 101)
    assert cache.get("huge") is None
    assert cache.stats.entries == 1


def test_replacing_a_key_updates_its_size() -> None:
    cache = RenderCache(max_bytes=100)
    cache.put("a", entry("a"), 60)
    cache.put("a", entry("a"), 30)
    assert cache.stats.bytes == 30


def test_stats_count_hits_and_misses() -> None:
    cache = RenderCache()
    cache.put("a", entry("a"), 1)
    cache.get("a")
    cache.get("b")
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.hit_rate) == (1, 1, 0.5)


@pytest.mark.parametrize(("entries", "size"), [(0, 1), (1, 0)])
def test_bounds_must_be_positive(entries: int, size: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        RenderCache(max_entries=entries, max_bytes=size)


def test_alias_stores_an_entry_under_a_second_key() -> None:
    cache = RenderCache(max_bytes=100)
    assert not cache.alias("a", "b")
    cache.put("a", entry("a"), 40)
    assert cache.alias("a", "b")
    assert cache.get("b") == entry("a")
    assert cache.stats.bytes == 80
