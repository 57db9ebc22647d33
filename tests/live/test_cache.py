"""The live cache against a real local cluster: indexes, change events, reconnects."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tether.kube import KubeClient, load_kubeconfig
from tether.live import Change, ChangeType, ClusterCache, TrackingMethod, tracking_app_of
from tether.model import ResourceKey, keys

_names = itertools.count()


def cm(name: str, ns: str, app: str | None = None, **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": ns, **extra}
    if app:
        metadata["annotations"] = {keys.TRACKING_ID: f"{app}:/ConfigMap:{ns}/{name}"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"a": "1"}}


async def next_change(queue: asyncio.Queue[Change], key: ResourceKey) -> Change:
    async with asyncio.timeout(10):
        while True:
            change = await queue.get()
            if change.key == key:
                return change


@pytest.fixture
async def client(local_cluster_session: Any) -> AsyncIterator[KubeClient]:
    async with KubeClient(load_kubeconfig(local_cluster_session.kubeconfig)) as kube:
        yield kube


@pytest.fixture
async def namespace(client: KubeClient) -> str:
    name = f"live-{next(_names)}"
    await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


async def test_tracked_objects_are_indexed_and_changes_published(
    client: KubeClient, namespace: str
) -> None:
    app = f"shop-{namespace}"  # the session cluster is shared: an app name of our own
    await client.apply(cm("before", namespace, app=app))
    cache = ClusterCache(client)
    cache.watch_kinds([("v1", "ConfigMap")])
    try:
        async with asyncio.timeout(10):
            await cache.wait_synced()
        assert [o["metadata"]["name"] for o in cache.objects_of(app)] == ["before"]
        queue = cache.subscribe()
        key = ResourceKey("", "ConfigMap", namespace, "after")
        await client.apply(cm("after", namespace, app=app))
        assert await next_change(queue, key) == Change(ChangeType.ADDED, key, frozenset({app}))
        await client.patch("v1", "ConfigMap", "after", namespace, {"data": {"a": "2"}})
        assert (await next_change(queue, key)).type is ChangeType.MODIFIED
        assert cache.get(key) is not None
        assert cache.get(key)["data"] == {"a": "2"}  # type: ignore[index]
        await client.delete("v1", "ConfigMap", "after", namespace)
        assert await next_change(queue, key) == Change(ChangeType.DELETED, key, frozenset({app}))
        assert cache.get(key) is None
        assert [o["metadata"]["name"] for o in cache.objects_of(app)] == ["before"]
    finally:
        await cache.close()


async def test_moving_an_object_between_apps_notifies_both(
    client: KubeClient, namespace: str
) -> None:
    cache = ClusterCache(client)
    cache.watch_kinds([("v1", "ConfigMap")])
    try:
        async with asyncio.timeout(10):
            await cache.wait_synced()
        queue = cache.subscribe()
        key = ResourceKey("", "ConfigMap", namespace, "moved")
        await client.apply(cm("moved", namespace, app="one"))
        await next_change(queue, key)
        await client.apply(cm("moved", namespace, app="two"))
        change = await next_change(queue, key)
        assert change.apps == frozenset({"one", "two"})
        assert cache.objects_of("one") == []
        assert len(cache.objects_of("two")) == 1
    finally:
        await cache.close()


async def test_children_are_found_through_owner_references(
    client: KubeClient, namespace: str
) -> None:
    parent = await client.apply(cm("parent", namespace, app="shop"))
    owner = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "parent",
        "uid": parent["metadata"]["uid"],
    }
    await client.apply(cm("child", namespace, ownerReferences=[owner]))
    cache = ClusterCache(client)
    cache.watch_kinds([("v1", "ConfigMap")])
    try:
        async with asyncio.timeout(10):
            await cache.wait_synced()
        assert [c["metadata"]["name"] for c in cache.children_of(parent)] == ["child"]
    finally:
        await cache.close()


@pytest.mark.parametrize(
    ("tracking_id", "tracked"),
    [
        ("shop:/ConfigMap:ns/c", True),
        ("shop:/ConfigMap:other/c", False),  # copied from an object elsewhere
        ("shop:apps/Deployment:ns/c", False),  # copied onto a child of another kind
        ("garbage", False),
    ],
)
def test_tracking_ids_must_name_the_object_itself(tracking_id: str, tracked: bool) -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "c",
            "namespace": "ns",
            "annotations": {keys.TRACKING_ID: tracking_id},
        },
    }
    assert (tracking_app_of(obj, TrackingMethod.ANNOTATION) == "shop") is tracked


def test_label_tracking_reads_the_instance_label() -> None:
    obj = {"metadata": {"labels": {keys.INSTANCE_LABEL: "shop"}}}
    assert tracking_app_of(obj, TrackingMethod.LABEL) == "shop"
    assert tracking_app_of(obj, TrackingMethod.ANNOTATION) is None


async def test_the_cache_reconnects_after_the_server_is_killed_and_restarted(
    local_cluster: Any, tmp_path: Any
) -> None:
    start_cluster = __import__("tether_test_localcluster").start_cluster
    async with KubeClient(load_kubeconfig(local_cluster.kubeconfig)) as client:
        await client.apply(cm("stays", "default", app="shop"))
        await client.apply(cm("goes", "default", app="shop"))
        cache = ClusterCache(client, max_backoff=0.5)
        cache.watch_kinds([("v1", "ConfigMap")])
        try:
            async with asyncio.timeout(10):
                await cache.wait_synced()
            assert len(cache.objects_of("shop")) == 2
            queue = cache.subscribe()
            port = local_cluster.port
            local_cluster.kill()
            restarted = start_cluster(local_cluster.data_dir, port=port)
            try:
                await client.delete("v1", "ConfigMap", "goes", "default")
                key = ResourceKey("", "ConfigMap", "default", "goes")
                assert (await next_change(queue, key)).type is ChangeType.DELETED
                assert cache.objects_of("shop")[0]["metadata"]["name"] == "stays"
            finally:
                restarted.stop()
        finally:
            await cache.close()


class ScriptedClient:
    """A stand-in for KubeClient whose list and watch follow a script."""

    def __init__(self, lists: list[list[dict[str, Any]]]) -> None:
        self.lists = lists
        self.listed = 0

    async def list(self, api_version: str, kind: str) -> Any:
        from tether.kube import ObjectList

        items = self.lists[min(self.listed, len(self.lists) - 1)]
        self.listed += 1
        return ObjectList(items, str(self.listed))

    async def watch(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        from tether.kube import Gone

        if self.listed < len(self.lists):
            raise Gone("watch", "ConfigMap", "too old resource version")
        await asyncio.Event().wait()  # then a quiet, endless watch
        yield  # pragma: no cover


async def test_410_gone_relists_and_removes_what_disappeared() -> None:
    first = [cm("a", "ns", app="shop"), cm("b", "ns", app="shop")]
    for number, item in enumerate(first):
        item["metadata"]["resourceVersion"] = str(number + 1)
    second = [first[0]]
    cache = ClusterCache(ScriptedClient([first, second]))  # type: ignore[arg-type]
    queue = cache.subscribe()
    cache.watch_kinds([("v1", "ConfigMap")])
    try:
        key = ResourceKey("", "ConfigMap", "ns", "b")
        assert (await next_change(queue, key)).type is ChangeType.ADDED
        assert (await next_change(queue, key)).type is ChangeType.DELETED
        assert [o["metadata"]["name"] for o in cache.objects_of("shop")] == ["a"]
    finally:
        await cache.close()
