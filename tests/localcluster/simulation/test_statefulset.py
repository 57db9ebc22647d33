"""StatefulSets and DaemonSets: ordered Pods, revisions, partitions, one Pod per node."""

from __future__ import annotations

from typing import Any

from tests.localcluster.simulation.harness import SimCluster, load

Obj = dict[str, Any]


def set_image(image: str) -> Any:
    def edit(obj: Obj) -> None:
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = image

    return edit


def image_of(sim: SimCluster, name: str) -> str:
    image: str = sim.obj("Pod", name)["spec"]["containers"][0]["image"]
    return image


async def test_pods_are_created_in_order(timed: SimCluster) -> None:
    await timed.create(load("statefulset-db"))
    await timed.settle()
    assert [p["metadata"]["name"] for p in timed.list("Pod")] == ["db-0"]
    await timed.advance(1)
    assert [p["metadata"]["name"] for p in timed.list("Pod")] == ["db-0", "db-1"]
    await timed.advance(1)
    await timed.advance(1)
    assert [p["metadata"]["name"] for p in timed.list("Pod")] == ["db-0", "db-1", "db-2"]
    status = timed.obj("StatefulSet", "db")["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (3, 3, 3)


async def test_parallel_pods_start_together(timed: SimCluster) -> None:
    sts = load("statefulset-db")
    sts["spec"]["podManagementPolicy"] = "Parallel"
    await timed.create(sts)
    await timed.settle()
    assert len(timed.list("Pod")) == 3


async def test_pods_are_named_labelled_and_get_their_claims(sim: SimCluster) -> None:
    await sim.create(load("statefulset-db"))
    await sim.settle()
    sts = sim.obj("StatefulSet", "db")
    status = sts["status"]
    assert status["currentRevision"] == status["updateRevision"]
    assert status["currentReplicas"] == status["updatedReplicas"] == 3
    assert status["collisionCount"] == 0
    assert status["observedGeneration"] == 1
    pod = sim.obj("Pod", "db-1")
    assert pod["metadata"]["labels"] == {
        "app": "db",
        "controller-revision-hash": status["updateRevision"],
        "statefulset.kubernetes.io/pod-name": "db-1",
        "apps.kubernetes.io/pod-index": "1",
    }
    assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("db-1", "db")
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "data")
    assert volume["persistentVolumeClaim"] == {"claimName": "data-db-1"}
    claims = {c["metadata"]["name"]: c for c in sim.list("PersistentVolumeClaim")}
    assert set(claims) == {"data-db-0", "data-db-1", "data-db-2"}
    assert all(c["status"]["phase"] == "Bound" for c in claims.values())
    revision = sim.obj("ControllerRevision", status["updateRevision"])
    assert revision["revision"] == 1
    assert revision["data"]["spec"]["template"]["$patch"] == "replace"


async def test_a_rolling_update_goes_from_the_highest_ordinal_down(sim: SimCluster) -> None:
    await sim.create(load("statefulset-db"))
    await sim.settle()
    first = sim.obj("StatefulSet", "db")["status"]["currentRevision"]
    deleted: list[str] = []
    _, watch = sim.cluster.store.watch(sim.rtype("Pod"))
    await sim.change("StatefulSet", "db", set_image("postgres:17"))
    await sim.settle()
    while (event := await watch.next(0)) is not None:
        if event.type == "DELETED":
            deleted.append(event.name)
    watch.close()
    assert deleted == ["db-2", "db-1", "db-0"]
    status = sim.obj("StatefulSet", "db")["status"]
    assert status["currentRevision"] == status["updateRevision"] != first
    assert {image_of(sim, f"db-{i}") for i in range(3)} == {"postgres:17"}


async def test_a_partition_holds_lower_ordinals_back(sim: SimCluster) -> None:
    sts = load("statefulset-db")
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    await sim.create(sts)
    await sim.settle()
    await sim.change("StatefulSet", "db", set_image("postgres:17"))
    await sim.settle()
    assert [image_of(sim, f"db-{i}") for i in range(3)] == [
        "postgres:16",
        "postgres:16",
        "postgres:17",
    ]
    status = sim.obj("StatefulSet", "db")["status"]
    assert (status["currentReplicas"], status["updatedReplicas"]) == (2, 1)
    assert status["currentRevision"] != status["updateRevision"]
    await sim.delete("Pod", "db-0")
    await sim.settle()
    assert image_of(sim, "db-0") == "postgres:16"


async def test_on_delete_replaces_only_deleted_pods(sim: SimCluster) -> None:
    sts = load("statefulset-db")
    sts["spec"]["updateStrategy"] = {"type": "OnDelete"}
    await sim.create(sts)
    await sim.settle()
    await sim.change("StatefulSet", "db", set_image("postgres:17"))
    await sim.settle()
    assert {image_of(sim, f"db-{i}") for i in range(3)} == {"postgres:16"}
    await sim.delete("Pod", "db-1")
    await sim.settle()
    assert [image_of(sim, f"db-{i}") for i in range(3)] == [
        "postgres:16",
        "postgres:17",
        "postgres:16",
    ]
    assert sim.obj("StatefulSet", "db")["status"]["updatedReplicas"] == 1


async def test_scaling_down_removes_the_highest_ordinals(sim: SimCluster) -> None:
    await sim.create(load("statefulset-db"))
    await sim.settle()
    await sim.change("StatefulSet", "db", lambda s: s["spec"].__setitem__("replicas", 1))
    await sim.settle()
    assert [p["metadata"]["name"] for p in sim.list("Pod")] == ["db-0"]
    assert len(sim.list("PersistentVolumeClaim")) == 3  # whenScaled: Retain


async def test_a_daemonset_runs_one_pod_on_the_node(sim: SimCluster) -> None:
    await sim.create(load("daemonset-agent"))
    await sim.settle()
    (pod,) = sim.list("Pod")
    assert pod["spec"]["nodeName"] == "local-node"
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert terms["nodeSelectorTerms"][0]["matchFields"][0]["values"] == ["local-node"]
    assert sim.obj("DaemonSet", "agent")["status"] == {
        "currentNumberScheduled": 1,
        "desiredNumberScheduled": 1,
        "numberAvailable": 1,
        "numberMisscheduled": 0,
        "numberReady": 1,
        "observedGeneration": 1,
        "updatedNumberScheduled": 1,
    }


async def test_a_daemonset_update_replaces_its_pod(sim: SimCluster) -> None:
    await sim.create(load("daemonset-agent"))
    await sim.settle()
    await sim.change("DaemonSet", "agent", set_image("fluent/fluent-bit:3.1"))
    await sim.settle()
    (pod,) = sim.list("Pod")
    assert pod["spec"]["containers"][0]["image"] == "fluent/fluent-bit:3.1"
    status = sim.obj("DaemonSet", "agent")["status"]
    assert (status["observedGeneration"], status["updatedNumberScheduled"]) == (2, 1)


async def test_a_daemonset_the_node_does_not_match_runs_nowhere(sim: SimCluster) -> None:
    ds = load("daemonset-agent")
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"disktype": "ssd"}
    await sim.create(ds)
    await sim.settle()
    assert sim.list("Pod") == []
    status = sim.obj("DaemonSet", "agent")["status"]
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"]) == (0, 0)
