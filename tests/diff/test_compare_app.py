"""Application-level comparison: pairing by key, the change set, caching."""

from __future__ import annotations

from typing import Any

import pytest

from tether.diff import (
    IGNORE_EXTRANEOUS,
    SERVER_SIDE_DIFF,
    Differ,
    DiffState,
    compare_options,
)
from tether.model import ResourceKey, SyncStatus, keys


def config_map(name: str, value: str, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop", **metadata},
        "data": {"value": value},
    }


def live(name: str, value: str, version: str = "1", **metadata: Any) -> dict[str, Any]:
    return config_map(name, value, uid=f"uid-{name}", resourceVersion=version, **metadata)


def test_objects_are_paired_by_key_and_every_state_is_reported() -> None:
    changes = Differ().compare_app(
        [config_map("same", "a"), config_map("changed", "new"), config_map("new", "x")],
        [live("same", "a"), live("changed", "old"), live("gone", "y")],
    )
    assert [(r.key.name, r.state) for r in changes.results] == [
        ("changed", DiffState.OUT_OF_SYNC),
        ("gone", DiffState.EXTRANEOUS),
        ("new", DiffState.MISSING),
        ("same", DiffState.SYNCED),
    ]
    assert changes.sync_status is SyncStatus.OUT_OF_SYNC
    assert [r.key.name for r in changes.with_state(DiffState.EXTRANEOUS)] == ["gone"]
    assert changes.with_state(DiffState.EXTRANEOUS)[0].requires_pruning


def test_an_app_with_only_ignored_extraneous_objects_is_synced() -> None:
    annotations = {keys.COMPARE_OPTIONS: f"ServerSideDiff=true, {IGNORE_EXTRANEOUS}"}
    leftover = live("leftover", "x", annotations=annotations)
    changes = Differ().compare_app([config_map("a", "1")], [live("a", "1"), leftover])
    assert changes.sync_status is SyncStatus.SYNCED
    assert compare_options(leftover) == {SERVER_SIDE_DIFF, IGNORE_EXTRANEOUS}


def test_a_key_declared_twice_is_a_failure_not_a_guess() -> None:
    changes = Differ().compare_app([config_map("a", "1"), config_map("a", "2")], [live("a", "1")])
    assert changes.sync_status is SyncStatus.UNKNOWN
    assert [f.message for f in changes.failures] == [
        "failed to compare ConfigMap/shop/a: declared more than once"
    ]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("not an object", "failed to compare ?/?: expected a mapping, got str"),
        ({"kind": "ConfigMap", "metadata": []}, "failed to compare ConfigMap/?: metadata is "),
        (
            {"kind": "ConfigMap", "metadata": {"name": "x"}},
            "failed to compare ConfigMap/x: apiVersion, kind and metadata.name are required",
        ),
        (
            {**config_map("b", "1"), "binaryData": {"blob": b"\x00"}},
            "failed to compare ConfigMap/shop/b: Type is not JSON serializable: bytes",
        ),
    ],
)
def test_malformed_objects_fail_alone(bad: Any, message: str) -> None:
    changes = Differ().compare_app([config_map("a", "1"), bad], [live("a", "1")])
    assert [r.state for r in changes.results] == [DiffState.SYNCED]
    assert len(changes.failures) == 1
    assert changes.failures[0].message.startswith(message)


def test_server_side_predictions_are_used_per_key() -> None:
    key = ResourceKey("", "ConfigMap", "shop", "a")
    predicted = {key: config_map("a", "as-the-server-says")}
    changes = Differ().compare_app([config_map("a", "2")], [live("a", "1")], predicted=predicted)
    (result,) = changes.results
    assert result.predicted is not None
    assert result.predicted["data"] == {"value": "as-the-server-says"}


def test_unchanged_objects_are_served_from_the_cache() -> None:
    differ = Differ()
    first = differ.compare(config_map("a", "1"), live("a", "1", version="7"))
    again = differ.compare(config_map("a", "1"), live("a", "1", version="7"))
    assert again is first
    assert differ.cache_stats().hits == 1


def test_a_new_resource_version_is_compared_again() -> None:
    differ = Differ()
    before = differ.compare(config_map("a", "1"), live("a", "1", version="7"))
    after = differ.compare(config_map("a", "1"), live("a", "2", version="8"))
    assert before.state is DiffState.SYNCED
    assert after.state is DiffState.OUT_OF_SYNC


def test_a_changed_manifest_is_compared_again() -> None:
    differ = Differ()
    assert differ.compare(config_map("a", "1"), live("a", "1")).state is DiffState.SYNCED
    assert differ.compare(config_map("a", "2"), live("a", "1")).state is DiffState.OUT_OF_SYNC


def test_the_cache_is_bounded() -> None:
    differ = Differ(cache_size=3)
    for index in range(10):
        differ.compare(config_map(f"c{index}", "v"), live(f"c{index}", "v"))
    stats = differ.cache_stats()
    assert (stats.entries, stats.capacity, stats.misses) == (3, 3, 10)


def test_results_do_not_alias_their_inputs() -> None:
    desired, current = config_map("a", "1"), live("a", "0")
    result = Differ().compare(desired, current)
    assert result.live is not None
    assert result.live["data"] == {"value": "0"}
    current["data"]["value"] = "mutated"
    assert result.live["data"] == {"value": "0"}


def test_compare_needs_an_object() -> None:
    with pytest.raises(ValueError, match="desired or a live object"):
        Differ().compare(None, None)
