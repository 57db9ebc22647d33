"""What tether's health assessment makes of the objects the simulation produces."""

from __future__ import annotations

from typing import Any

import pytest
from tests.localcluster.simulation.harness import SimCluster, load

from tether.health.assessment import assess_health
from tether.model import HealthStatus

Obj = dict[str, Any]


def verdict(obj: Obj) -> HealthStatus:
    health = assess_health(obj)
    assert health is not None, obj["kind"]
    return health.status


async def test_a_rolled_out_deployment_is_healthy(sim: SimCluster) -> None:
    await sim.create(load("deployment-web"))
    await sim.settle()
    assert verdict(sim.obj("Deployment", "web")) is HealthStatus.HEALTHY
    for pod in sim.list("Pod"):
        assert verdict(pod) is HealthStatus.HEALTHY
    (rs,) = sim.list("ReplicaSet")
    assert verdict(rs) is HealthStatus.HEALTHY


async def test_a_deployment_rolling_out_is_progressing(timed: SimCluster) -> None:
    await timed.create(load("deployment-web"))
    await timed.settle()
    assert verdict(timed.obj("Deployment", "web")) is HealthStatus.PROGRESSING
    await timed.advance(1)
    assert verdict(timed.obj("Deployment", "web")) is HealthStatus.HEALTHY


async def test_a_paused_deployment_is_suspended(sim: SimCluster) -> None:
    deployment = load("deployment-web")
    deployment["spec"]["paused"] = True
    await sim.create(deployment)
    await sim.settle()
    assert verdict(sim.obj("Deployment", "web")) is HealthStatus.SUSPENDED


async def test_a_stuck_deployment_becomes_degraded(sim: SimCluster) -> None:
    await sim.create(load("deployment-badimage"))
    await sim.settle()
    assert verdict(sim.obj("Deployment", "broken")) is HealthStatus.PROGRESSING
    await sim.advance(31)
    assert verdict(sim.obj("Deployment", "broken")) is HealthStatus.DEGRADED
    for pod in sim.list("Pod"):
        assert verdict(pod) is HealthStatus.DEGRADED


@pytest.mark.parametrize(
    ("fixture", "seconds", "expected"),
    [
        ("pod-imagepullbackoff", 2, HealthStatus.DEGRADED),
        ("pod-crashloop", 2, HealthStatus.DEGRADED),
        ("pod-fail", 2, HealthStatus.DEGRADED),
        ("pod-completes", 2, HealthStatus.HEALTHY),
        ("pod-unready", 2, HealthStatus.PROGRESSING),
        ("pod-basic", 2, HealthStatus.HEALTHY),
    ],
)
async def test_pods(timed: SimCluster, fixture: str, seconds: int, expected: HealthStatus) -> None:
    created = await timed.create(load(fixture))
    await timed.settle()
    await timed.advance(seconds)
    assert verdict(timed.obj("Pod", created.metadata["name"])) is expected


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [("job-pi", HealthStatus.HEALTHY), ("job-fail", HealthStatus.DEGRADED)],
)
async def test_jobs(sim: SimCluster, fixture: str, expected: HealthStatus) -> None:
    created = await sim.create(load(fixture))
    await sim.advance(5)
    assert verdict(sim.obj("Job", created.metadata["name"])) is expected


async def test_a_suspended_job(sim: SimCluster) -> None:
    job = load("job-pi")
    job["spec"]["suspend"] = True
    await sim.create(job)
    await sim.settle()
    assert verdict(sim.obj("Job", "pi")) is HealthStatus.SUSPENDED


async def test_a_running_job_is_progressing(timed: SimCluster) -> None:
    await timed.create(load("job-pi"))
    await timed.settle()
    assert verdict(timed.obj("Job", "pi")) is HealthStatus.PROGRESSING


@pytest.mark.parametrize(
    ("kind", "fixture"),
    [
        ("StatefulSet", "statefulset-db"),
        ("DaemonSet", "daemonset-agent"),
        ("PersistentVolumeClaim", "persistentvolumeclaim-data"),
        ("Service", "service-loadbalancer"),
        ("Ingress", "ingress-web"),
    ],
)
async def test_settled_objects_are_healthy(sim: SimCluster, kind: str, fixture: str) -> None:
    created = await sim.create(load(fixture))
    await sim.settle()
    assert verdict(sim.obj(kind, created.metadata["name"])) is HealthStatus.HEALTHY


async def test_a_statefulset_mid_update_is_progressing(timed: SimCluster) -> None:
    await timed.create(load("statefulset-db"))
    await timed.settle()
    assert verdict(timed.obj("StatefulSet", "db")) is HealthStatus.PROGRESSING
    for _ in range(3):
        await timed.advance(1)
    assert verdict(timed.obj("StatefulSet", "db")) is HealthStatus.HEALTHY


async def test_a_pending_claim_is_progressing(sim: SimCluster) -> None:
    claim = load("persistentvolumeclaim-data")
    claim["spec"]["storageClassName"] = "fast-ssd"
    await sim.create(claim)
    await sim.settle()
    assert verdict(sim.obj("PersistentVolumeClaim", "data")) is HealthStatus.PROGRESSING


async def test_an_autoscaler_without_metrics_is_degraded_as_on_a_real_cluster(
    sim: SimCluster,
) -> None:
    await sim.create(load("deployment-web"))
    await sim.create(load("horizontalpodautoscaler-web"))
    await sim.settle()
    health = assess_health(sim.obj("HorizontalPodAutoscaler", "web"))
    assert health is not None
    assert health.status is HealthStatus.DEGRADED
    assert "no metrics returned from resource metrics API" in health.message
