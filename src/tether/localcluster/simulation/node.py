"""The one node: ``local-node``, Ready, with the status a kubelet would post.

The node is created when the simulation starts, if it is missing, with capacity taken
from the machine (CPUs, memory), room for 110 Pods, the addresses, ``nodeInfo`` and
pressure conditions of a healthy kubelet. It posts no heartbeats: its conditions'
``lastHeartbeatTime`` is the time it was registered.
"""

from __future__ import annotations

import os
import platform
import uuid
from typing import Any

from tether.localcluster.simulation.context import KUBELET, Context, condition

NODE_NAME = "local-node"
#: The node's InternalIP: Pods' ``hostIP``, Ingress and Service load-balancer addresses.
NODE_IP = "172.18.0.2"
#: The Pod network the node hands addresses from.
POD_CIDR = "10.244.0.0/16"
KUBELET_VERSION = "v1.35.0"
MAX_PODS = 110
_NAMESPACE = uuid.UUID("6f1b2c8e-52a4-4c0b-9b5e-0d8c7a1e4f20")
#: The node's labels, which ``nodeSelector``s are matched against.
NODE_LABELS = {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": NODE_NAME,
    "kubernetes.io/os": "linux",
    "node-role.kubernetes.io/control-plane": "",
}


def _memory_kib() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 1024
    except (ValueError, OSError):
        return 16 * 1024 * 1024


def fits(spec: dict[str, Any]) -> bool:
    """Whether the node's labels satisfy a Pod spec's ``nodeSelector``."""
    wanted = spec.get("nodeSelector") or {}
    return all(NODE_LABELS.get(k) == v for k, v in wanted.items())


def node_object(now: str) -> dict[str, Any]:
    """The Node as first registered at ``now``."""
    cpus = str(os.cpu_count() or 1)
    memory = _memory_kib()
    system_id = str(uuid.uuid5(_NAMESPACE, NODE_NAME))
    capacity = {
        "cpu": cpus,
        "ephemeral-storage": "102400000Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{memory}Ki",
        "pods": str(MAX_PODS),
    }
    # kubelet reserves nothing by default but the eviction threshold (100Mi of memory).
    allocatable = {**capacity, "memory": f"{max(memory - 102400, 0)}Ki"}
    pressure = [
        ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ]
    conditions = [
        condition(t, "False", reason, message, now, lastHeartbeatTime=now)
        for t, reason, message in pressure
    ]
    conditions.append(
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
            now,
            lastHeartbeatTime=now,
        )
    )
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "labels": dict(NODE_LABELS),
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"podCIDR": POD_CIDR, "podCIDRs": [POD_CIDR]},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": NODE_IP},
                {"type": "Hostname", "address": NODE_NAME},
            ],
            "allocatable": allocatable,
            "capacity": capacity,
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": system_id,
                "containerRuntimeVersion": "containerd://2.1.0",
                "kernelVersion": platform.release(),
                "kubeProxyVersion": "",
                "kubeletVersion": KUBELET_VERSION,
                "machineID": system_id.replace("-", ""),
                "operatingSystem": "linux",
                "osImage": "tether local cluster",
                "systemUUID": system_id,
            },
        },
    }


async def ensure_node(context: Context) -> None:
    """Register ``local-node`` unless it exists, with its Ready status."""
    nodes = context.kinds.nodes
    if context.store.lookup(nodes, None, NODE_NAME) is not None:
        return
    obj = node_object(context.timestamp())
    status = obj.pop("status")
    created = await context.create(nodes, "", obj, KUBELET)
    if created is not None:
        await context.write_status(nodes, created, status, KUBELET)
