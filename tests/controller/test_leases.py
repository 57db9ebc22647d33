"""Shards and their settings: stable placement of apps, validated configuration."""

from __future__ import annotations

from collections import Counter

import pytest

from tether.controller.leases import ShardingConfig, shard_of


def test_an_app_always_lands_in_the_same_shard() -> None:
    keys = [f"argocd/app-{n}" for n in range(1000)]
    first = [shard_of(k, 4) for k in keys]
    assert first == [shard_of(k, 4) for k in keys]
    assert all(shard_of(k, 1) == 0 for k in keys)
    spread = Counter(first)
    assert set(spread) == {0, 1, 2, 3}
    assert min(spread.values()) > 200  # roughly even: 250 each


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"shards": 0}, "shards must be at least 1"),
        ({"shards": 2, "preferred": frozenset({2})}, "between 0 and 1"),
        ({"lease_seconds": 5, "renew_seconds": 5}, "shorter than lease_seconds"),
        ({"renew_seconds": 0}, "renew_seconds must be positive"),
    ],
)
def test_bad_sharding_settings_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShardingConfig(**fields)  # type: ignore[arg-type]


def test_a_replica_prefers_its_own_shards_or_all() -> None:
    assert ShardingConfig(shards=3).prefers(2)
    own = ShardingConfig(shards=3, preferred=frozenset({1}))
    assert own.prefers(1)
    assert not own.prefers(0)
