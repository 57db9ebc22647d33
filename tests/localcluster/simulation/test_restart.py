"""A restarted simulation resumes from stored state and does nothing twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.localcluster.simulation.harness import SimCluster, load

from tether.localcluster.simulation import ManualClock, Settings
from tether.localcluster.store import WriteOptions

Obj = dict[str, Any]


async def restarted(
    path: Path,
    clock: ManualClock,
    settings: Settings,
    before: Callable[[SimCluster], Awaitable[None]],
) -> SimCluster:
    first = SimCluster(path, settings, clock)
    await first.start()
    await before(first)
    await first.settle()
    await first.close()
    second = SimCluster(path, settings, clock)
    await second.start()
    await second.settle()
    return second


def snapshot(sim: SimCluster, *kinds: str) -> dict[str, list[tuple[str, str]]]:
    return {
        kind: sorted(
            (o["metadata"]["name"], o["metadata"]["resourceVersion"]) for o in sim.list(kind, None)
        )
        for kind in kinds
    }


async def test_finished_work_is_not_done_again(tmp_path: Path) -> None:
    clock = ManualClock()

    async def work(sim: SimCluster) -> None:
        await sim.create(load("deployment-web"))
        await sim.create(load("job-pi"))
        await sim.create(load("statefulset-db"))
        await sim.create(load("service-web"))

    sim = await restarted(tmp_path, clock, Settings.instant(), work)
    try:
        kinds = (
            "Pod",
            "ReplicaSet",
            "Job",
            "Deployment",
            "StatefulSet",
            "Endpoints",
            "Node",
            "Event",
        )
        before = snapshot(sim, *kinds)
        sim.simulation.kubelet.requeue_all()
        await sim.settle()
        assert snapshot(sim, *kinds) == before
        assert len(sim.list("Pod")) == 3 + 3 + 3
        job = sim.obj("Job", "pi")
        assert job["status"]["succeeded"] == 3
        assert len(sim.list("Node", None)) == 1
    finally:
        await sim.close()


async def test_timers_resume_from_stored_timestamps(tmp_path: Path) -> None:
    clock = ManualClock()

    async def work(sim: SimCluster) -> None:
        await sim.create(load("pod-probe"))

    sim = await restarted(tmp_path, clock, Settings(), work)
    try:
        ready = next(
            c for c in sim.obj("Pod", "slow-probe")["status"]["conditions"] if c["type"] == "Ready"
        )
        assert ready["status"] == "False"
        await sim.advance(5)
        ready = next(
            c for c in sim.obj("Pod", "slow-probe")["status"]["conditions"] if c["type"] == "Ready"
        )
        assert ready["status"] == "True"
    finally:
        await sim.close()


async def test_a_missed_schedule_runs_once_after_a_restart(tmp_path: Path) -> None:
    clock = ManualClock(datetime.now(UTC).replace(second=0, microsecond=0))

    async def work(sim: SimCluster) -> None:
        await sim.create(load("cronjob-hello"))
        await sim.advance(300)

    first = SimCluster(tmp_path, Settings.instant(), clock)
    await first.start()
    await work(first)
    await first.settle()
    jobs = [j["metadata"]["name"] for j in first.list("Job")]
    await first.close()
    clock.advance(900)  # the cluster is down for three schedules
    second = SimCluster(tmp_path, Settings.instant(), clock)
    await second.start()
    await second.settle()
    try:
        after = [j["metadata"]["name"] for j in second.list("Job")]
        assert len(jobs) == 1
        assert len(after) == 2
        assert jobs[0] in after
    finally:
        await second.close()


async def test_a_namespace_with_running_workloads_is_deleted(sim: SimCluster) -> None:
    await sim.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, namespace=""
    )
    await sim.create(load("deployment-web"), "shop")
    await sim.create(load("statefulset-db"), "shop")
    await sim.create(load("service-web"), "shop")
    await sim.settle()
    assert sim.list("Pod", "shop")
    await sim.delete("Namespace", "shop", namespace="")
    await sim.settle()
    assert sim.get("Namespace", "shop", "") is None
    assert sim.list("Pod", "shop") == []


async def test_a_pod_deleted_while_the_simulation_was_down_is_finished(tmp_path: Path) -> None:
    clock = ManualClock()
    first = SimCluster(tmp_path, Settings.instant(), clock)
    await first.start()
    await first.create(load("pod-basic"))
    await first.settle()
    await first.simulation.close()
    # The API server marks the Pod for a graceful deletion, and the kubelet stopped its
    # containers but went down before removing it.
    await first.delete("Pod", "basic")
    assert "deletionTimestamp" in first.obj("Pod", "basic")["metadata"]

    current = first.get("Pod", "basic")
    assert current is not None
    obj = {**current.obj, "status": {**current.obj["status"], "phase": "Succeeded"}}
    await first.cluster.store.replace_with(
        first.rtype("Pod"),
        current,
        obj,
        WriteOptions(field_manager="kubelet", subresource="status"),
    )
    await first.cluster.close()
    second = SimCluster(tmp_path, Settings.instant(), clock)
    await second.start()
    try:
        await second.settle()
        assert second.get("Pod", "basic") is None
    finally:
        await second.close()
