"""Services: addresses and ports allocated on write, endpoints kept up to date.

:class:`ServiceAllocator` is a store admitter doing what kube-apiserver's allocators
do when a Service is written: its cluster IP, in 10.96.0.0/12, is unique among
Services (an address the defaults picked that is taken is replaced by the next free
one; an address the client asked for that is taken is a 422 ``provided IP is already
allocated``); ``NodePort`` and ``LoadBalancer`` ports get node ports in 30000-32767,
unique and kept across updates; headless Services (``clusterIP: None``) get none.

:class:`EndpointsController` plays the endpoints, EndpointSlice and cloud load-balancer
controllers: for a Service with a selector it keeps the ``Endpoints`` of the same name
(ready Pods in ``addresses``, others in ``notReadyAddresses``) and one
``EndpointSlice`` (``<service>-<5 characters>``, owned by the Service) listing the
matching Pods that have an address, with ``ready``/``serving``/``terminating``;
``LoadBalancer`` Services get ``status.loadBalancer.ingress[0].ip`` from 172.18.255.0/24.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from tether.localcluster import defaults
from tether.localcluster.errors import Cause, invalid
from tether.localcluster.loop import WorkQueue
from tether.localcluster.resources import ResourceType
from tether.localcluster.selectors import selector_from_match
from tether.localcluster.simulation.context import Context, controller_ref
from tether.localcluster.simulation.events import EventType
from tether.localcluster.simulation.workloads import active, ready
from tether.localcluster.store import WriteOptions
from tether.localcluster.watch import Entry, Event

Key = tuple[str, str]
Obj = dict[str, Any]

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORTS = range(30000, 32768)
LOAD_BALANCER_CIDR = ipaddress.ip_network("172.18.255.0/24")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_MANAGER = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"


def _node_ports(spec: Obj) -> bool:
    kind = spec.get("type", "ClusterIP")
    if kind == "NodePort":
        return True
    return kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True) is not False


class ServiceAllocator:
    """Cluster IPs, node ports and load-balancer addresses, unique among Services."""

    def __init__(self, context: Context) -> None:
        """Allocate for the Services of ``context``'s store."""
        self._context = context
        self._ips: dict[str, Key] = {}
        self._ports: dict[int, Key] = {}
        self._balancers: dict[str, Key] = {}
        self._next_port = NODE_PORTS.start

    def start(self) -> None:
        """Index the addresses and ports of every stored Service."""
        for entry in self._context.store.objects_of(self._context.kinds.services.key):
            self._hold((entry.metadata.get("namespace", ""), entry.metadata["name"]), entry.obj)

    def _hold(self, key: Key, obj: Obj) -> None:
        self._release(key)
        spec = obj.get("spec") or {}
        for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
            if ip and ip != "None":
                self._ips[ip] = key
        for port in spec.get("ports") or []:
            if isinstance(port, dict) and port.get("nodePort"):
                self._ports[int(port["nodePort"])] = key
        for ingress in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            if ingress.get("ip"):
                self._balancers[ingress["ip"]] = key

    def _release(self, key: Key) -> None:
        for addresses in (self._ips, self._balancers):
            for held in [k for k, v in addresses.items() if v == key]:
                del addresses[held]
        for port in [k for k, v in self._ports.items() if v == key]:
            del self._ports[port]

    def on_event(self, event: Event) -> None:
        """Keep the index in step with stored Services."""
        if event.resource != self._context.kinds.services.key:
            return
        key = (event.namespace, event.name)
        if event.type == "DELETED":
            self._release(key)
        else:
            self._hold(key, event.entry.obj)

    def admit(
        self, rtype: ResourceType, obj: Obj, old: Obj | None, options: WriteOptions
    ) -> list[str]:
        """Allocate (or check) a Service's cluster IP and node ports."""
        if rtype.key != self._context.kinds.services.key:
            return []
        spec = obj.get("spec")
        if not isinstance(spec, dict) or spec.get("type") == "ExternalName":
            return []
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        old_spec = (old or {}).get("spec") or {}
        self._cluster_ip(key, spec, old_spec)
        if _node_ports(spec):
            self._assign_node_ports(key, spec, old_spec)
        if not options.dry_run:
            self._hold(key, obj)
        return []

    def _cluster_ip(self, key: Key, spec: Obj, old_spec: Obj) -> None:
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            return
        defaulted = ip == defaults.cluster_ip(*key)
        previous = old_spec.get("clusterIP")
        if previous and previous != ip and defaulted:
            # The client left the address out and the defaults filled in their own;
            # the Service keeps the address it has.
            spec["clusterIP"] = previous
            spec["clusterIPs"] = list(old_spec.get("clusterIPs") or [previous])
            return
        holder = self._ips.get(ip)
        if holder is None or holder == key:
            return
        if defaulted and not previous:
            free = self._free_cluster_ip(ip)
            spec["clusterIP"] = free
            spec["clusterIPs"] = [free]
            return
        raise invalid(
            "Service",
            "",
            key[1],
            [
                Cause(
                    "spec.clusterIPs",
                    f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: '
                    "provided IP is already allocated",
                )
            ],
        )

    def _free_cluster_ip(self, taken: str) -> str:
        base = int(SERVICE_CIDR.network_address)
        size = SERVICE_CIDR.num_addresses
        start = int(ipaddress.ip_address(taken)) - base
        for step in range(1, size):
            offset = (start + step) % size
            if offset in (0, size - 1):
                continue
            ip = str(ipaddress.ip_address(base + offset))
            if ip not in self._ips:
                return ip
        raise invalid(
            "Service", "", "", [Cause("spec.clusterIPs", "Internal error: range is full")]
        )

    def _assign_node_ports(self, key: Key, spec: Obj, old_spec: Obj) -> None:
        old_ports = {
            (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
            for p in old_spec.get("ports") or []
            if isinstance(p, dict)
        }
        for index, port in enumerate(spec.get("ports") or []):
            if not isinstance(port, dict):
                continue
            wanted = port.get("nodePort")
            if wanted:
                holder = self._ports.get(int(wanted))
                if holder is not None and holder != key:
                    raise invalid(
                        "Service",
                        "",
                        key[1],
                        [
                            Cause(
                                f"spec.ports[{index}].nodePort",
                                f"Invalid value: {wanted}: provided port is already allocated",
                            )
                        ],
                    )
                continue
            kept = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
            port["nodePort"] = kept or self._free_node_port(key)

    def _free_node_port(self, key: Key) -> int:
        span = len(NODE_PORTS)
        for _ in range(span):
            port = self._next_port
            self._next_port = port + 1 if port + 1 < NODE_PORTS.stop else NODE_PORTS.start
            if port not in self._ports:
                self._ports[port] = key
                return port
        raise invalid("Service", "", key[1], [Cause("spec.ports", "Internal error: range is full")])

    def load_balancer_ip(self, key: Key) -> str:
        """An address for a ``LoadBalancer`` Service, unique among them."""
        for held, holder in self._balancers.items():
            if holder == key:
                return held
        for host in LOAD_BALANCER_CIDR.hosts():
            ip = str(host)
            if ip not in self._balancers:
                self._balancers[ip] = key
                return ip
        raise RuntimeError(
            f"failed to allocate a load-balancer address for service {key[0]}/{key[1]}"
        )


def _target_port(port: Obj, pod: Entry) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    for container in (pod.obj.get("spec") or {}).get("containers") or []:
        for declared in container.get("ports") or []:
            if declared.get("name") == target:
                return int(declared["containerPort"])
    return None


def _ports(spec: Obj, pod: Entry) -> list[Obj]:
    result = []
    for port in spec.get("ports") or []:
        number = _target_port(port, pod)
        if number is None:
            continue
        item: Obj = {"port": number, "protocol": port.get("protocol", "TCP")}
        if port.get("name"):
            item = {"name": port["name"], **item}
        if port.get("appProtocol"):
            item["appProtocol"] = port["appProtocol"]
        result.append(item)
    return result


def _target_ref(pod: Entry) -> Obj:
    return {
        "kind": "Pod",
        "name": pod.metadata["name"],
        "namespace": pod.metadata.get("namespace", ""),
        "uid": pod.metadata["uid"],
    }


def _ip_key(pod: Entry) -> tuple[int, str]:
    ip = str((pod.obj.get("status") or {}).get("podIP"))
    return int(ipaddress.ip_address(ip)), pod.metadata["uid"]


class EndpointsController:
    """Endpoints, EndpointSlices and load-balancer status of Services."""

    def __init__(self, context: Context, allocator: ServiceAllocator) -> None:
        """Keep the Services of ``context``'s store served, with ``allocator``'s addresses."""
        self._context = context
        self._allocator = allocator
        self.queue: WorkQueue[Key] = WorkQueue("endpoints-controller", self._reconcile)

    def start(self) -> None:
        """Reconcile every Service once; Endpoints left by a deleted Service go."""
        kinds = self._context.kinds
        for rkey in (kinds.services.key, kinds.endpoints.key):
            for entry in self._context.store.objects_of(rkey):
                self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark Services whose object or whose Pods changed."""
        kinds = self._context.kinds
        if event.resource == kinds.services.key:
            self.queue.add((event.namespace, event.name))
        elif event.resource == kinds.pods.key:
            labels = event.entry.metadata.get("labels") or {}
            for service in self._context.store.list(kinds.services, event.namespace).entries:
                selector = (service.obj.get("spec") or {}).get("selector")
                if selector and all(labels.get(k) == v for k, v in selector.items()):
                    self.queue.add((event.namespace, service.metadata["name"]))

    async def _reconcile(self, key: Key) -> None:
        context = self._context
        kinds = context.kinds
        service = context.get(kinds.services, *key)
        if service is None:
            stale = context.store.lookup(kinds.endpoints, *key)
            if stale is not None:
                await context.delete(kinds.endpoints, stale)
            return
        spec = service.obj.get("spec") or {}
        await self._load_balancer(key, service, spec)
        selector = spec.get("selector")
        if not selector:
            return
        match = selector_from_match({"matchLabels": selector})
        pods = sorted(
            (
                p
                for p in context.store.list(kinds.pods, key[0]).entries
                if match.matches(p.metadata.get("labels"))
                and active(p)
                and (p.obj.get("status") or {}).get("podIP")
            ),
            key=_ip_key,
        )
        publish_all = bool(spec.get("publishNotReadyAddresses"))
        await self._endpoints(key, service, spec, pods, publish_all)
        await self._slice(key, service, spec, pods, publish_all)

    async def _load_balancer(self, key: Key, service: Entry, spec: Obj) -> None:
        status = service.obj.get("status") or {}
        ingress = (status.get("loadBalancer") or {}).get("ingress")
        if spec.get("type") == "LoadBalancer":
            if ingress:
                return
            ip = self._allocator.load_balancer_ip(key)
            new = {**status, "loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}
            for reason, message in (
                ("EnsuringLoadBalancer", "Ensuring load balancer"),
                ("EnsuredLoadBalancer", "Ensured load balancer"),
            ):
                self._context.recorder.record(
                    service, EventType.NORMAL, reason, message, "service-controller"
                )
        elif ingress:
            new = {**status, "loadBalancer": {}}
        else:
            return
        await self._context.write_status(self._context.kinds.services, service, new)

    def _labels(self, service: Entry, spec: Obj) -> Obj:
        labels = dict(service.metadata.get("labels") or {})
        if spec.get("clusterIP") == "None":
            labels[HEADLESS_LABEL] = ""
        return labels

    async def _endpoints(
        self, key: Key, service: Entry, spec: Obj, pods: list[Entry], publish_all: bool
    ) -> None:
        groups: dict[str, tuple[list[Obj], list[Obj], list[Obj]]] = {}
        for pod in pods:
            ports = _ports(spec, pod)
            slot = groups.setdefault(repr(ports), ([], [], ports))
            address = {
                "ip": pod.obj["status"]["podIP"],
                "nodeName": (pod.obj.get("spec") or {}).get("nodeName", ""),
                "targetRef": _target_ref(pod),
            }
            (slot[0] if publish_all or ready(pod) else slot[1]).append(address)
        subsets = []
        for addresses, not_ready, ports in groups.values():
            subset: Obj = {}
            if addresses:
                subset["addresses"] = addresses
            if not_ready:
                subset["notReadyAddresses"] = not_ready
            if ports:
                subset["ports"] = ports
            subsets.append(subset)
        kinds = self._context.kinds
        labels = self._labels(service, spec)
        current = self._context.store.lookup(kinds.endpoints, *key)
        if current is None:
            obj: Obj = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": key[1], "labels": labels} if labels else {"name": key[1]},
            }
            if subsets:
                obj["subsets"] = subsets
            await self._context.create(kinds.endpoints, key[0], obj)
            return
        if (
            current.obj.get("subsets", []) == subsets
            and (current.metadata.get("labels") or {}) == labels
        ):
            return

        def change(obj: Obj) -> None:
            if subsets:
                obj["subsets"] = subsets
            else:
                obj.pop("subsets", None)
            if labels:
                obj["metadata"]["labels"] = labels
            else:
                obj["metadata"].pop("labels", None)

        await self._context.update(kinds.endpoints, current, change)

    async def _slice(
        self, key: Key, service: Entry, spec: Obj, pods: list[Entry], publish_all: bool
    ) -> None:
        kinds = self._context.kinds
        endpoints = []
        for pod in pods:
            is_ready = ready(pod)
            endpoints.append(
                {
                    "addresses": [pod.obj["status"]["podIP"]],
                    "conditions": {
                        "ready": publish_all or is_ready,
                        "serving": is_ready,
                        "terminating": False,
                    },
                    "nodeName": (pod.obj.get("spec") or {}).get("nodeName", ""),
                    "targetRef": _target_ref(pod),
                }
            )
        ports = _ports(spec, pods[0]) if pods else []
        labels = {
            **self._labels(service, spec),
            SERVICE_NAME_LABEL: key[1],
            MANAGED_BY_LABEL: SLICE_MANAGER,
        }
        body: Obj = {"addressType": "IPv4", "endpoints": endpoints, "ports": ports}
        existing = [
            s
            for s in self._context.store.list(kinds.endpointslices, key[0]).entries
            if (s.metadata.get("labels") or {}).get(SERVICE_NAME_LABEL) == key[1]
            and (s.metadata.get("labels") or {}).get(MANAGED_BY_LABEL) == SLICE_MANAGER
        ]
        if not existing:
            obj = {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "generateName": f"{key[1]}-",
                    "labels": labels,
                    "ownerReferences": [controller_ref(service)],
                },
                **copy.deepcopy(body),
            }
            await self._context.create(kinds.endpointslices, key[0], obj)
            return
        current = existing[0]
        for extra in existing[1:]:
            await self._context.delete(kinds.endpointslices, extra)
        if (
            all(current.obj.get(k) == v for k, v in body.items())
            and current.metadata.get("labels") == labels
        ):
            return

        def change(obj: Obj) -> None:
            obj.update(copy.deepcopy(body))
            obj["metadata"]["labels"] = labels

        await self._context.update(kinds.endpointslices, current, change)
