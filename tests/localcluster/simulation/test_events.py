"""Events: what ``kubectl describe`` shows about simulated objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.localcluster.simulation.harness import SimCluster, load

from tether.localcluster.simulation import ManualClock, Settings

Obj = dict[str, Any]


def events_of(sim: SimCluster, name: str, namespace: str = "default") -> list[tuple[str, str, str]]:
    return [
        (e["type"], e["reason"], e["message"])
        for e in sorted(
            sim.list("Event", namespace), key=lambda e: e["metadata"]["creationTimestamp"]
        )
        if e["involvedObject"]["name"] == name
    ]


async def test_a_pod_reports_its_scheduling_and_start(sim: SimCluster) -> None:
    await sim.create(load("pod-basic"))
    await sim.settle()
    reported = events_of(sim, "basic")
    assert ("Normal", "Scheduled", "Successfully assigned default/basic to local-node") in reported
    assert (
        "Normal",
        "Pulled",
        'Container image "nginx:1.27" already present on machine',
    ) in reported
    assert ("Normal", "Created", "Created container: app") in reported
    assert ("Normal", "Started", "Started container app") in reported
    started = next(e for e in sim.list("Event") if e["reason"] == "Started")
    assert started["source"] == {"component": "kubelet", "host": "local-node"}
    assert started["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert started["involvedObject"]["kind"] == "Pod"
    assert started["count"] == 1


async def test_a_rollout_reports_scaling(sim: SimCluster) -> None:
    await sim.create(load("deployment-web"))
    await sim.settle()
    (rs,) = sim.list("ReplicaSet")
    name = rs["metadata"]["name"]
    assert events_of(sim, "web") == [
        ("Normal", "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to 3")
    ]
    created = [e for e in events_of(sim, name) if e[1] == "SuccessfulCreate"]
    assert len(created) == 3
    assert all(message.startswith(f"Created pod: {name}-") for _, _, message in created)


async def test_a_bad_image_reports_pull_failures(timed: SimCluster) -> None:
    await timed.create(load("pod-imagepullbackoff"))
    await timed.settle()
    await timed.advance(2)
    reported = events_of(timed, "bad-image")
    assert ("Warning", "Failed", "Error: ErrImagePull") in reported
    assert ("Normal", "BackOff", 'Back-off pulling image "nginx:doesnotexist"') in reported
    assert ("Warning", "Failed", "Error: ImagePullBackOff") in reported
    failed = next(m for t, r, m in reported if r == "Failed" and m.startswith("Failed to pull"))
    assert failed.endswith("docker.io/library/nginx:doesnotexist: not found")


async def test_a_crash_loop_is_one_event_with_a_growing_count(timed: SimCluster) -> None:
    created = await timed.create(load("pod-crashloop"))
    await timed.settle()
    for _ in range(10):
        await timed.advance(1)
    back_offs = [e for e in timed.list("Event") if e["reason"] == "BackOff"]
    assert len(back_offs) == 1
    assert back_offs[0]["type"] == "Warning"
    assert back_offs[0]["count"] >= 3
    uid = created.metadata["uid"]
    assert back_offs[0]["message"] == (
        f"Back-off restarting failed container app in pod crasher_default({uid})"
    )


async def test_jobs_report_their_pods_and_their_end(sim: SimCluster) -> None:
    await sim.create(load("job-pi"))
    await sim.create(load("job-fail"))
    await sim.advance(5)
    pi = events_of(sim, "pi")
    assert sum(1 for _, reason, _ in pi if reason == "SuccessfulCreate") == 3
    assert ("Normal", "Completed", "Job completed") in pi
    assert ("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit") in (
        events_of(sim, "flaky")
    )


async def test_events_expire_after_an_hour(timed: SimCluster) -> None:
    await timed.create(load("pod-completes"))
    await timed.settle()
    await timed.advance(2)
    assert timed.list("Event")
    await timed.advance(3600)
    assert timed.list("Event") == []


async def test_events_can_be_turned_off(tmp_path: Path) -> None:
    running = SimCluster(tmp_path, Settings(0, 0, 0, 0, 0, events=False), ManualClock())
    await running.start()
    try:
        await running.create(load("deployment-web"))
        await running.settle()
        assert running.list("Event", None) == []
        assert running.obj("Deployment", "web")["status"]["availableReplicas"] == 3
    finally:
        await running.close()


async def test_a_statefulset_reports_its_pods_and_claims(sim: SimCluster) -> None:
    await sim.create(load("statefulset-db"))
    await sim.settle()
    reported = events_of(sim, "db")
    assert ("Normal", "SuccessfulCreate", "create Pod db-0 in StatefulSet db successful") in (
        reported
    )
    assert (
        "Normal",
        "SuccessfulCreate",
        "create Claim data-db-0 Pod db-0 in StatefulSet db success",
    ) in reported
    claim_events = events_of(sim, "data-db-0")
    assert claim_events[0][1] == "ProvisioningSucceeded"
