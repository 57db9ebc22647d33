"""Services, Endpoints, EndpointSlices, volumes, Ingresses and autoscalers."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from tests.localcluster.simulation.harness import SimCluster, load

from tether.localcluster import defaults
from tether.localcluster.errors import APIError

Obj = dict[str, Any]


def service(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80}], **spec},
    }


async def test_cluster_ips_are_unique(sim: SimCluster) -> None:
    names = [f"svc-{i}" for i in range(40)]
    for name in names:
        await sim.create(service(name))
    ips = [sim.obj("Service", n)["spec"]["clusterIP"] for n in names]
    assert len(set(ips)) == len(ips)
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12") for ip in ips)


async def test_a_taken_default_address_is_replaced_by_a_free_one(sim: SimCluster) -> None:
    wanted = defaults.cluster_ip("default", "late")
    await sim.create(service("early", clusterIP=wanted))
    late = await sim.create(service("late"))
    assert late.obj["spec"]["clusterIP"] not in (wanted, None)
    assert late.obj["spec"]["clusterIPs"] == [late.obj["spec"]["clusterIP"]]


async def test_an_address_asked_for_twice_is_refused(sim: SimCluster) -> None:
    first = await sim.create(service("first"))
    taken = first.obj["spec"]["clusterIP"]
    with pytest.raises(APIError) as raised:
        await sim.create(service("second", clusterIP=taken))
    assert raised.value.code == 422
    (cause,) = raised.value.causes
    assert cause.field == "spec.clusterIPs"
    assert cause.message.endswith(
        f"failed to allocate IP {taken}: provided IP is already allocated"
    )


async def test_a_service_keeps_its_address_on_update(sim: SimCluster) -> None:
    created = await sim.create(service("web"))
    ip = created.obj["spec"]["clusterIP"]

    def drop_ip(obj: Obj) -> None:
        obj["spec"].pop("clusterIP")
        obj["spec"].pop("clusterIPs")
        obj["metadata"]["labels"] = {"tier": "front"}

    updated = await sim.change("Service", "web", drop_ip)
    assert updated.obj["spec"]["clusterIP"] == ip


async def test_node_ports_are_allocated_unique_and_kept(sim: SimCluster) -> None:
    first = await sim.create(service("a", type="NodePort"))
    second = await sim.create(service("b", type="NodePort"))
    port_a = first.obj["spec"]["ports"][0]["nodePort"]
    port_b = second.obj["spec"]["ports"][0]["nodePort"]
    assert port_a != port_b
    assert 30000 <= port_a <= 32767

    def relabel(obj: Obj) -> None:
        obj["spec"]["ports"][0].pop("nodePort")
        obj["metadata"]["labels"] = {"x": "y"}

    assert (await sim.change("Service", "a", relabel)).obj["spec"]["ports"][0]["nodePort"] == port_a
    clash = service("c", type="NodePort")
    clash["spec"]["ports"][0]["nodePort"] = port_a
    with pytest.raises(APIError) as raised:
        await sim.create(clash)
    assert raised.value.code == 422


async def test_headless_services_get_no_address(sim: SimCluster) -> None:
    created = await sim.create(service("db", clusterIP="None", selector={"app": "db"}))
    assert created.obj["spec"]["clusterIP"] == "None"


async def test_a_load_balancer_gets_an_address(sim: SimCluster) -> None:
    await sim.create(load("service-loadbalancer"))
    second = load("service-loadbalancer")
    second["metadata"]["name"] = "public-2"
    await sim.create(second)
    await sim.settle()
    ingress = sim.obj("Service", "public")["status"]["loadBalancer"]["ingress"]
    other = sim.obj("Service", "public-2")["status"]["loadBalancer"]["ingress"]
    assert ingress[0]["ipMode"] == "VIP"
    assert ingress[0]["ip"] != other[0]["ip"]
    assert sim.obj("Service", "public")["spec"]["ports"][0]["nodePort"] >= 30000


async def test_endpoints_follow_ready_pods(timed: SimCluster) -> None:
    await timed.create(load("service-web"))
    await timed.create(load("deployment-web"))
    await timed.settle()
    endpoints = timed.obj("Endpoints", "web")
    (subset,) = endpoints["subsets"]
    assert "addresses" not in subset
    assert len(subset["notReadyAddresses"]) == 3
    assert subset["ports"] == [{"name": "http", "port": 80, "protocol": "TCP"}]
    await timed.advance(1)
    (subset,) = timed.obj("Endpoints", "web")["subsets"]
    pods = {p["status"]["podIP"]: p for p in timed.list("Pod")}
    assert {a["ip"] for a in subset["addresses"]} == set(pods)
    address = subset["addresses"][0]
    assert address["nodeName"] == "local-node"
    assert address["targetRef"]["kind"] == "Pod"
    assert address["targetRef"]["uid"] == pods[address["ip"]]["metadata"]["uid"]
    (endpoint_slice,) = timed.list("EndpointSlice")
    assert endpoint_slice["addressType"] == "IPv4"
    assert endpoint_slice["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    assert endpoint_slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == (
        "endpointslice-controller.k8s.io"
    )
    assert endpoint_slice["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert all(
        e["conditions"] == {"ready": True, "serving": True, "terminating": False}
        for e in endpoint_slice["endpoints"]
    )
    assert endpoint_slice["ports"] == [{"name": "http", "port": 80, "protocol": "TCP"}]


async def test_endpoints_go_with_their_service(sim: SimCluster) -> None:
    await sim.create(load("service-web"))
    await sim.settle()
    assert sim.get("Endpoints", "web") is not None
    await sim.delete("Service", "web")
    await sim.settle()
    assert sim.get("Endpoints", "web") is None
    assert sim.list("EndpointSlice") == []


async def test_a_claim_is_bound_to_a_provisioned_volume(sim: SimCluster) -> None:
    created = await sim.create(load("persistentvolumeclaim-data"))
    await sim.settle()
    claim = sim.obj("PersistentVolumeClaim", "data")
    volume_name = f"pvc-{created.metadata['uid']}"
    assert claim["spec"]["volumeName"] == volume_name
    assert claim["spec"]["storageClassName"] == "standard"
    assert claim["status"] == {
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "5Gi"},
        "phase": "Bound",
    }
    assert claim["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    volume = sim.obj("PersistentVolume", volume_name, "")
    assert volume["status"]["phase"] == "Bound"
    assert volume["spec"]["claimRef"]["uid"] == created.metadata["uid"]
    assert volume["spec"]["storageClassName"] == "standard"
    await sim.delete("PersistentVolumeClaim", "data")
    await sim.settle()
    assert sim.get("PersistentVolume", volume_name, "") is None


async def test_a_claim_of_a_missing_class_stays_pending(sim: SimCluster) -> None:
    claim = load("persistentvolumeclaim-data")
    claim["spec"]["storageClassName"] = "fast-ssd"
    await sim.create(claim)
    await sim.settle()
    assert sim.obj("PersistentVolumeClaim", "data")["status"] == {"phase": "Pending"}
    assert sim.list("PersistentVolume", None) == []


async def test_an_ingress_gets_the_node_address(sim: SimCluster) -> None:
    await sim.create(load("ingress-web"))
    await sim.settle()
    assert sim.obj("Ingress", "web")["status"] == {
        "loadBalancer": {"ingress": [{"ip": "172.18.0.2"}]}
    }


async def test_an_autoscaler_enforces_its_minimum_and_reports_missing_metrics(
    sim: SimCluster,
) -> None:
    await sim.create(load("deployment-web"))
    await sim.create(load("horizontalpodautoscaler-web"))
    await sim.settle()
    assert sim.obj("Deployment", "web")["spec"]["replicas"] == 4
    hpa = sim.obj("HorizontalPodAutoscaler", "web")
    assert (hpa["status"]["currentReplicas"], hpa["status"]["desiredReplicas"]) == (4, 4)
    assert "lastScaleTime" in hpa["status"]
    by_type = {c["type"]: c for c in hpa["status"]["conditions"]}
    assert (by_type["ScalingActive"]["status"], by_type["ScalingActive"]["reason"]) == (
        "False",
        "FailedGetResourceMetric",
    )
    assert "no metrics returned from resource metrics API" in by_type["ScalingActive"]["message"]
    assert by_type["AbleToScale"]["status"] == "True"


async def test_an_autoscaler_without_its_target_says_so(sim: SimCluster) -> None:
    await sim.create(load("horizontalpodautoscaler-web"))
    await sim.settle()
    (able,) = sim.obj("HorizontalPodAutoscaler", "web")["status"]["conditions"]
    assert (able["type"], able["status"], able["reason"]) == (
        "AbleToScale",
        "False",
        "FailedGetScale",
    )
    assert able["message"].endswith('deployments/scale.apps "web" not found')
