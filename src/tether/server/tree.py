"""Resource trees and managed-resource states answered from the cluster alone.

:class:`ClusterInspector` needs no render: it reads the objects an Application's
``status.resources`` lists from the destination cluster, then follows
``ownerReferences`` downwards through the kinds that workloads create (ReplicaSets,
Pods, Jobs, ControllerRevisions, EndpointSlices) to build Argo CD's
``ApplicationTree``. Managed-resource states pair each live object with the desired one
when a :class:`~tether.server.interfaces.ManifestSource` is wired in (``targetState``
is ``null`` otherwise); Secret values are masked on both sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from tether.diff.mask import mask_secret, mask_secrets
from tether.kube import KubeClient, KubeError, NotFound
from tether.model import Application, ResourceKey, ResourceStatus
from tether.server.errors import NotFoundError, NotImplementedByServer
from tether.server.interfaces import DestinationClients, ManifestSource

IN_CLUSTER_SERVER: Final = "https://kubernetes.default.svc"
IN_CLUSTER_NAME: Final = "in-cluster"

#: Kinds whose objects are children of other objects, searched when following owners.
CHILD_KINDS: Final = (
    ("apps/v1", "ReplicaSet"),
    ("v1", "Pod"),
    ("batch/v1", "Job"),
    ("apps/v1", "ControllerRevision"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
)
#: Depth limit when following owners (Deployment → ReplicaSet → Pod is 2).
MAX_DEPTH: Final = 5


def in_cluster_only(client: KubeClient) -> DestinationClients:
    """Destination clients for a server that reaches only its own cluster."""

    async def client_for(app: Application) -> KubeClient:
        destination = app.spec.destination
        if destination.server in ("", IN_CLUSTER_SERVER) and destination.name in (
            "",
            IN_CLUSTER_NAME,
        ):
            return client
        raise NotImplementedByServer(
            f"failed to reach the destination of application {app.name}: this server "
            "reaches only the in-cluster destination"
        )

    return client_for


def _api_version(resource: ResourceStatus) -> str:
    version = resource.version or "v1"
    return f"{resource.group}/{version}" if resource.group else version


def _group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _node(obj: Mapping[str, Any], resource: ResourceStatus | None = None) -> dict[str, Any]:
    metadata = obj.get("metadata") or {}
    group, version = _group_version(str(obj.get("apiVersion", "")))
    node: dict[str, Any] = {
        "group": group,
        "version": version,
        "kind": obj.get("kind", ""),
        "namespace": metadata.get("namespace", ""),
        "name": metadata.get("name", ""),
        "uid": metadata.get("uid", ""),
        "resourceVersion": metadata.get("resourceVersion", ""),
        "createdAt": metadata.get("creationTimestamp"),
        "parentRefs": [
            {
                "group": _group_version(str(ref.get("apiVersion", "")))[0],
                "kind": ref.get("kind", ""),
                "namespace": metadata.get("namespace", ""),
                "name": ref.get("name", ""),
                "uid": ref.get("uid", ""),
            }
            for ref in metadata.get("ownerReferences") or []
        ],
    }
    if resource is not None and resource.health is not None:
        node["health"] = {"status": resource.health.status.value}
        if resource.health.message:
            node["health"]["message"] = resource.health.message
    images = [
        c.get("image")
        for c in ((obj.get("spec") or {}).get("containers") or [])
        if isinstance(c, Mapping) and c.get("image")
    ]
    if images:
        node["images"] = images
    return {k: v for k, v in node.items() if v not in (None, [], "")} | {
        "kind": node["kind"],
        "name": node["name"],
    }


class ClusterInspector:
    """Resource trees, managed-resource states and single live objects of applications."""

    def __init__(
        self, clients: DestinationClients, manifests: ManifestSource | None = None
    ) -> None:
        self.clients = clients
        self.manifests = manifests

    async def _live(self, client: KubeClient, resource: ResourceStatus) -> dict[str, Any] | None:
        try:
            return await client.get(
                _api_version(resource), resource.kind, resource.name, resource.namespace or None
            )
        except NotFound:
            return None  # listed in status but gone: the tree shows what exists

    async def tree(self, app: Application) -> dict[str, Any]:
        """The app's objects and their descendants, Argo CD's ``ApplicationTree``."""
        client = await self.clients(app)
        managed = [r for r in app.status.resources if not r.hook]
        lives = await asyncio.gather(*(self._live(client, r) for r in managed))
        nodes = [_node(obj, r) for r, obj in zip(managed, lives, strict=True) if obj]
        namespaces = sorted({str(n.get("namespace", "")) for n in nodes if n.get("namespace")})
        frontier = {str(n["uid"]) for n in nodes if n.get("uid")}
        seen = set(frontier)
        candidates: list[dict[str, Any]] = []
        for namespace in namespaces:
            for api_version, kind in CHILD_KINDS:
                try:
                    candidates += (await client.list(api_version, kind, namespace)).items
                except KubeError:
                    continue  # a kind this cluster does not serve
        for _ in range(MAX_DEPTH):
            found = []
            for obj in candidates:
                metadata = obj.get("metadata") or {}
                uid = str(metadata.get("uid", ""))
                owners = {str(r.get("uid", "")) for r in metadata.get("ownerReferences") or []}
                if uid and uid not in seen and owners & frontier:
                    found.append(obj)
                    seen.add(uid)
            if not found:
                break
            nodes += [_node(obj) for obj in found]
            frontier = {str(o["metadata"]["uid"]) for o in found}
        return {"nodes": nodes}

    async def managed_resources(self, app: Application) -> list[dict[str, Any]]:
        """Each managed object's live (and, with a manifest source, desired) state."""
        client = await self.clients(app)
        desired: dict[ResourceKey, dict[str, Any]] = {}
        if self.manifests is not None:
            for obj in await self.manifests.manifests(app):
                metadata = obj.get("metadata") or {}
                group, _ = _group_version(str(obj.get("apiVersion", "")))
                key = ResourceKey(
                    group,
                    str(obj.get("kind", "")),
                    str(metadata.get("namespace") or app.spec.destination.namespace or ""),
                    str(metadata.get("name", "")),
                )
                desired[key] = obj
        resources: Sequence[ResourceStatus] = app.status.resources
        lives = await asyncio.gather(*(self._live(client, r) for r in resources))
        items = []
        for resource, live in zip(resources, lives, strict=True):
            target = desired.get(resource.key)
            target_masked, live_masked = mask_secrets(target, live)
            items.append(
                {
                    "group": resource.group,
                    "kind": resource.kind,
                    "namespace": resource.namespace,
                    "name": resource.name,
                    "targetState": _json_or_null(target_masked),
                    "liveState": _json_or_null(live_masked),
                    "hook": resource.hook,
                    "modified": resource.status is not None
                    and resource.status.value == "OutOfSync",
                }
            )
        return items

    async def live_object(self, app: Application, key: ResourceKey) -> dict[str, Any]:
        """A managed object of ``app`` as the cluster holds it, Secret values masked.

        Only objects the app manages (``status.resources``) or their descendants in the
        tree are served: the endpoint is no way to read arbitrary objects.
        """
        managed = {r.key: r for r in app.status.resources}
        client = await self.clients(app)
        if key in managed:
            live = await self._live(client, managed[key])
        else:
            nodes = (await self.tree(app))["nodes"]
            match = next(
                (
                    n
                    for n in nodes
                    if (n.get("group", ""), n["kind"], n.get("namespace", ""), n["name"])
                    == (key.group, key.kind, key.namespace, key.name)
                ),
                None,
            )
            if match is None:
                raise NotFoundError(
                    f"failed to get {key.kind}/{key.namespace}/{key.name}: "
                    f"not an object of application {app.name}"
                )
            api_version = f"{key.group}/{match['version']}" if key.group else match["version"]
            live = await client.get(api_version, key.kind, key.name, key.namespace or None)
        if live is None:
            raise NotFoundError(f"failed to get {key.kind}/{key.namespace}/{key.name}: not found")
        return mask_secret(live)


def _json_or_null(obj: Mapping[str, Any] | None) -> str | None:
    # Argo CD sends states as JSON strings; clients parse them.
    return None if obj is None else orjson.dumps(obj).decode()
