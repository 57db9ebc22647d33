"""The shared vocabulary: keys, tracking ids and health ordering."""

from __future__ import annotations

import pytest

from tether.model import (
    Health,
    HealthStatus,
    ResourceKey,
    format_tracking_id,
    parse_tracking_id,
)

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
}


def test_resource_key_ignores_the_version() -> None:
    key = ResourceKey.of(DEPLOYMENT)
    assert key == ResourceKey("apps", "Deployment", "shop", "web")
    assert ResourceKey.of({**DEPLOYMENT, "apiVersion": "apps/v1beta2"}) == key
    assert key.group_kind == "apps/Deployment"
    assert str(key) == "apps/Deployment/shop/web"


def test_core_and_cluster_scoped_keys() -> None:
    key = ResourceKey.of({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    assert key == ResourceKey("", "Namespace", "", "shop")
    assert key.group_kind == "Namespace"
    assert str(key) == "Namespace/shop"


@pytest.mark.parametrize(
    ("key", "tracking_id"),
    [
        (ResourceKey("apps", "Deployment", "shop", "web"), "guestbook:apps/Deployment:shop/web"),
        (ResourceKey("", "Namespace", "", "shop"), "guestbook:/Namespace:/shop"),
        (ResourceKey("", "ConfigMap", "a", "b"), "guestbook:/ConfigMap:a/b"),
    ],
)
def test_tracking_id_round_trip(key: ResourceKey, tracking_id: str) -> None:
    assert format_tracking_id("guestbook", key) == tracking_id
    assert parse_tracking_id(tracking_id) == ("guestbook", key)


@pytest.mark.parametrize(
    "bad", ["", "guestbook", "guestbook:apps/Deployment", ":apps/Deployment:a/b", "a:apps:a/b"]
)
def test_malformed_tracking_ids_are_rejected(bad: str) -> None:
    assert parse_tracking_id(bad) is None


def test_health_order_matches_argo_cd() -> None:
    assert [s.value for s in HealthStatus] == [
        "Healthy",
        "Suspended",
        "Progressing",
        "Missing",
        "Degraded",
        "Unknown",
    ]
    assert HealthStatus.DEGRADED.is_worse_than(HealthStatus.PROGRESSING)
    assert not HealthStatus.HEALTHY.is_worse_than(HealthStatus.SUSPENDED)


def test_worst_health_wins() -> None:
    verdicts = [
        Health(HealthStatus.HEALTHY),
        Health(HealthStatus.DEGRADED, "pod crashed"),
        Health(HealthStatus.PROGRESSING, "rolling out"),
    ]
    assert Health.worst(verdicts) == Health(HealthStatus.DEGRADED, "pod crashed")
    assert Health.worst([]) == Health(HealthStatus.HEALTHY)
