"""The simulated scheduler and kubelet: Pods from Pending to Running, Ready or failed."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from tests.localcluster.simulation.harness import SimCluster, load

from tether.localcluster.store import WriteOptions

Obj = dict[str, Any]


def conditions(pod: Obj) -> dict[str, str]:
    return {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}


def container(pod: Obj, index: int = 0, key: str = "containerStatuses") -> Obj:
    status: Obj = pod["status"][key][index]
    return status


async def test_a_pod_is_scheduled_started_and_ready(sim: SimCluster) -> None:
    await sim.create(load("pod-basic"))
    await sim.settle()
    pod = sim.obj("Pod", "basic")
    assert pod["spec"]["nodeName"] == "local-node"
    assert pod["status"]["phase"] == "Running"
    assert conditions(pod) == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
        "PodScheduled": "True",
    }
    assert [c["type"] for c in pod["status"]["conditions"]] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    status = container(pod)
    assert status["ready"] is status["started"] is True
    assert status["image"] == "docker.io/library/nginx:1.27"
    assert status["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert len(status["imageID"].rsplit(":", 1)[1]) == 64
    assert status["containerID"].startswith("containerd://")
    assert "startedAt" in status["state"]["running"]
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network("10.244.0.0/16")
    assert pod["status"]["hostIP"] == "172.18.0.2"
    assert pod["status"]["qosClass"] == "BestEffort"
    assert pod["status"]["startTime"]


async def test_the_image_id_is_deterministic(sim: SimCluster) -> None:
    first = await sim.create(load("pod-basic"))
    second = load("pod-basic")
    second["metadata"]["name"] = "basic-2"
    await sim.create(second)
    await sim.settle()
    ids = {container(sim.obj("Pod", n))["imageID"] for n in (first.metadata["name"], "basic-2")}
    assert len(ids) == 1


async def test_the_pod_is_first_seen_creating_its_containers(sim: SimCluster) -> None:
    seen: list[Obj] = []
    _, watch = sim.cluster.store.watch(sim.rtype("Pod"))
    await sim.create(load("pod-basic"))
    await sim.settle()
    while (event := await watch.next(0)) is not None:
        seen.append(event.entry.obj)
    watch.close()
    waiting = [
        container(p)["state"]["waiting"]["reason"]
        for p in seen
        if p.get("status", {}).get("containerStatuses") and "waiting" in container(p)["state"]
    ]
    assert waiting == ["ContainerCreating"]
    assert seen[-1]["status"]["phase"] == "Running"


async def test_pod_addresses_are_unique_among_live_pods(sim: SimCluster) -> None:
    for index in range(20):
        pod = load("pod-basic")
        pod["metadata"]["name"] = f"p{index}"
        await sim.create(pod)
    await sim.settle()
    ips = [p["status"]["podIP"] for p in sim.list("Pod")]
    assert len(ips) == len(set(ips)) == 20


async def test_init_containers_run_first_and_complete(sim: SimCluster) -> None:
    await sim.create(load("pod-init"))
    await sim.settle()
    pod = sim.obj("Pod", "with-init")
    inits = pod["status"]["initContainerStatuses"]
    assert [i["state"]["terminated"]["reason"] for i in inits] == ["Completed", "Completed"]
    assert [i["state"]["terminated"]["exitCode"] for i in inits] == [0, 0]
    first_done = inits[0]["state"]["terminated"]["finishedAt"]
    assert inits[1]["state"]["terminated"]["startedAt"] >= first_done
    assert pod["status"]["phase"] == "Running"
    assert conditions(pod)["Initialized"] == "True"


async def test_init_containers_take_their_time(timed: SimCluster) -> None:
    await timed.create(load("pod-init"))
    await timed.settle()
    pod = timed.obj("Pod", "with-init")
    assert pod["status"]["phase"] == "Pending"
    assert "running" in container(pod, 0, "initContainerStatuses")["state"]
    assert container(pod)["state"]["waiting"]["reason"] == "PodInitializing"
    init = next(c for c in pod["status"]["conditions"] if c["type"] == "Initialized")
    assert init["reason"] == "ContainersNotInitialized"
    assert init["message"] == "containers with incomplete status: [migrate warm-cache]"
    await timed.advance(1)
    pod = timed.obj("Pod", "with-init")
    assert "terminated" in container(pod, 0, "initContainerStatuses")["state"]
    assert "running" in container(pod, 1, "initContainerStatuses")["state"]
    await timed.advance(1)
    pod = timed.obj("Pod", "with-init")
    assert pod["status"]["phase"] == "Running"
    assert conditions(pod)["Ready"] == "False"
    await timed.advance(1)
    assert conditions(timed.obj("Pod", "with-init"))["Ready"] == "True"


async def test_ready_waits_for_pod_ready_seconds(timed: SimCluster) -> None:
    await timed.create(load("pod-basic"))
    await timed.settle()
    pod = timed.obj("Pod", "basic")
    assert pod["status"]["phase"] == "Running"
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ContainersNotReady")
    assert ready["message"] == "containers with unready status: [app]"
    await timed.advance(1)
    assert conditions(timed.obj("Pod", "basic"))["Ready"] == "True"


async def test_a_readiness_probe_delay_holds_ready_back(timed: SimCluster) -> None:
    await timed.create(load("pod-probe"))
    await timed.settle()
    await timed.advance(4)
    assert conditions(timed.obj("Pod", "slow-probe"))["Ready"] == "False"
    await timed.advance(1)
    assert conditions(timed.obj("Pod", "slow-probe"))["Ready"] == "True"


async def test_a_run_to_completion_pod_succeeds(sim: SimCluster) -> None:
    await sim.create(load("pod-completes"))
    await sim.settle()
    pod = sim.obj("Pod", "one-shot")
    assert pod["status"]["phase"] == "Succeeded"
    terminated = container(pod)["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("Completed", 0)
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "PodCompleted")
    assert conditions(pod)["PodReadyToStartContainers"] == "False"


@pytest.mark.parametrize(
    ("fixture", "qos"),
    [("pod-basic", "BestEffort"), ("pod-guaranteed", "Guaranteed")],
)
async def test_qos_class(sim: SimCluster, fixture: str, qos: str) -> None:
    created = await sim.create(load(fixture))
    await sim.settle()
    assert sim.obj("Pod", created.metadata["name"])["status"]["qosClass"] == qos


async def test_a_pod_the_node_cannot_satisfy_is_unschedulable(sim: SimCluster) -> None:
    await sim.create(load("pod-selector"))
    await sim.settle()
    pod = sim.obj("Pod", "gpu-only")
    assert "nodeName" not in pod["spec"]
    (scheduled,) = pod["status"]["conditions"]
    assert (scheduled["type"], scheduled["status"], scheduled["reason"]) == (
        "PodScheduled",
        "False",
        "Unschedulable",
    )
    assert scheduled["message"].startswith("0/1 nodes are available: 1 node(s) didn't match")


async def test_a_pod_bound_to_another_node_is_left_alone(sim: SimCluster) -> None:
    pod = load("pod-basic")
    pod["spec"]["nodeName"] = "elsewhere"
    await sim.create(pod)
    await sim.settle()
    assert sim.obj("Pod", "basic")["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


async def test_the_node_is_registered_ready(sim: SimCluster) -> None:
    node = sim.obj("Node", "local-node", "")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    assert node["status"]["capacity"]["pods"] == "110"
    assert node["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.")
    assert {"type": "InternalIP", "address": "172.18.0.2"} in node["status"]["addresses"]


async def test_a_sidecar_keeps_running_beside_the_containers(timed: SimCluster) -> None:
    await timed.create(load("pod-sidecar"))
    await timed.settle()
    pod = timed.obj("Pod", "with-sidecar")
    proxy, migrate = pod["status"]["initContainerStatuses"]
    assert "running" in proxy["state"]
    assert "running" in migrate["state"]  # started once the sidecar had started
    for _ in range(3):
        await timed.advance(1)
    pod = timed.obj("Pod", "with-sidecar")
    proxy, migrate = pod["status"]["initContainerStatuses"]
    assert "running" in proxy["state"]
    assert proxy["ready"] is True
    assert migrate["state"]["terminated"]["reason"] == "Completed"
    assert pod["status"]["phase"] == "Running"
    assert conditions(pod) == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
        "PodScheduled": "True",
    }


async def test_readiness_gates_hold_ready_until_their_condition_is_true(sim: SimCluster) -> None:
    pod = load("pod-basic")
    pod["spec"]["readinessGates"] = [{"conditionType": "example.com/registered"}]
    await sim.create(pod)
    await sim.settle()
    ready = next(c for c in sim.obj("Pod", "basic")["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ReadinessGatesNotReady")
    assert ready["message"] == (
        'corresponding condition of pod readiness gate "example.com/registered" does not exist.'
    )
    assert conditions(sim.obj("Pod", "basic"))["ContainersReady"] == "True"
    current = sim.get("Pod", "basic")
    assert current is not None
    status = dict(current.obj["status"])
    status["conditions"] = [
        *status["conditions"],
        {
            "type": "example.com/registered",
            "status": "True",
            "lastTransitionTime": status["startTime"],
        },
    ]
    await sim.cluster.store.replace_with(
        sim.rtype("Pod"),
        current,
        {**current.obj, "status": status},
        WriteOptions(field_manager="registrar", subresource="status"),
    )
    await sim.settle()
    assert conditions(sim.obj("Pod", "basic"))["Ready"] == "True"
