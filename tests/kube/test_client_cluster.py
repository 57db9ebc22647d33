"""KubeClient against a real local cluster: every verb, dry-run, errors, discovery."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tether.kube import (
    AlreadyExists,
    Conflict,
    Invalid,
    KubeClient,
    NotFound,
    Throttle,
    Unauthorized,
    Unavailable,
    UnknownKind,
    kubeconfig_from_dict,
    load_kubeconfig,
)

_names = itertools.count()


@pytest.fixture
async def client(local_cluster_session: Any) -> AsyncIterator[KubeClient]:
    async with KubeClient(load_kubeconfig(local_cluster_session.kubeconfig)) as kube:
        yield kube


@pytest.fixture
async def namespace(client: KubeClient) -> str:
    name = f"kube-{next(_names)}"
    await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def cm(name: str, ns: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


async def test_version_and_discovery(client: KubeClient) -> None:
    version = await client.version()
    assert version["major"] == "1"
    deploy = await client.discovery.resolve("apps/v1", "Deployment")
    assert deploy.namespaced
    assert "scale" in deploy.subresources
    namespace = await client.discovery.resolve("v1", "Namespace")
    assert not namespace.namespaced


async def test_apply_get_patch_replace_delete(client: KubeClient, namespace: str) -> None:
    created = await client.apply(cm("a", namespace, x="1"))
    assert created["metadata"]["managedFields"][0]["manager"] == "tether"
    assert (await client.get("v1", "ConfigMap", "a", namespace))["data"] == {"x": "1"}

    merged = await client.patch("v1", "ConfigMap", "a", namespace, {"data": {"y": "2"}})
    assert merged["data"] == {"x": "1", "y": "2"}
    json_patched = await client.patch(
        "v1", "ConfigMap", "a", namespace, [{"op": "remove", "path": "/data/x"}], patch_type="json"
    )
    assert json_patched["data"] == {"y": "2"}
    strategic = await client.patch(
        "v1", "ConfigMap", "a", namespace, {"data": {"z": "3"}}, patch_type="strategic"
    )
    assert strategic["data"] == {"y": "2", "z": "3"}

    replaced = await client.replace({**strategic, "data": {"only": "this"}})
    assert replaced["data"] == {"only": "this"}
    with pytest.raises(Conflict, match=f"failed to replace ConfigMap/{namespace}/a"):
        await client.replace({**strategic, "data": {"stale": "write"}})

    await client.delete("v1", "ConfigMap", "a", namespace)
    with pytest.raises(NotFound, match=f"failed to get ConfigMap/{namespace}/a"):
        await client.get("v1", "ConfigMap", "a", namespace)


async def test_dry_run_writes_nothing(client: KubeClient, namespace: str) -> None:
    preview = await client.apply(cm("dry", namespace, x="1"), dry_run=True)
    assert preview["data"] == {"x": "1"}
    with pytest.raises(NotFound):
        await client.get("v1", "ConfigMap", "dry", namespace)
    await client.create(cm("real", namespace))
    await client.delete("v1", "ConfigMap", "real", namespace, dry_run=True)
    await client.get("v1", "ConfigMap", "real", namespace)


async def test_errors_are_typed(client: KubeClient, namespace: str) -> None:
    await client.create(cm("once", namespace))
    with pytest.raises(AlreadyExists):
        await client.create(cm("once", namespace))
    with pytest.raises(Invalid) as invalid:
        await client.apply(cm("Bad_Name", namespace))
    assert invalid.value.causes
    with pytest.raises(NotFound):
        await client.apply(cm("x", "no-such-namespace"))
    with pytest.raises(UnknownKind):
        await client.get("example.com/v1", "Widget", "w", namespace)
    stale = (await client.get("v1", "ConfigMap", "once", namespace))["metadata"]["uid"]
    await client.delete("v1", "ConfigMap", "once", namespace)
    await client.create(cm("once", namespace))
    with pytest.raises(Conflict):  # the uid precondition protects the new object
        await client.delete("v1", "ConfigMap", "once", namespace, uid=stale)


async def test_list_pages_through_continue_tokens(client: KubeClient, namespace: str) -> None:
    await asyncio.gather(*(client.create(cm(f"c{i:02}", namespace)) for i in range(25)))
    listed = await client.list("v1", "ConfigMap", namespace, page_size=7)
    names = sorted(
        i["metadata"]["name"] for i in listed.items if i["metadata"]["name"].startswith("c")
    )
    assert names == [f"c{i:02}" for i in range(25)]
    assert all(i["kind"] == "ConfigMap" and i["apiVersion"] == "v1" for i in listed.items)
    assert int(listed.resource_version) > 0


async def test_watch_streams_changes_after_a_version(client: KubeClient, namespace: str) -> None:
    start = (await client.list("v1", "ConfigMap", namespace)).resource_version
    events: list[tuple[str, str]] = []

    async def collect() -> None:
        async for event in client.watch(
            "v1", "ConfigMap", namespace, resource_version=start, timeout_seconds=10
        ):
            if event.type != "BOOKMARK":
                events.append((event.type, event.object["metadata"]["name"]))
            if len(events) == 3:
                return

    watcher = asyncio.create_task(collect())
    await asyncio.sleep(0.1)
    await client.create(cm("w", namespace))
    await client.patch("v1", "ConfigMap", "w", namespace, {"data": {"a": "b"}})
    await client.delete("v1", "ConfigMap", "w", namespace)
    await asyncio.wait_for(watcher, 10)
    assert events == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


async def test_kinds_of_new_crds_are_discovered(client: KubeClient, namespace: str) -> None:
    group = f"t{next(_names)}.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    with pytest.raises(UnknownKind):
        await client.discovery.resolve(f"{group}/v1", "Widget")
    await client.apply(crd)
    await client.discovery.refresh()  # rather than wait out the refresh interval
    widget = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": namespace},
        "spec": {"size": 3},
    }
    await client.apply(widget)
    assert (await client.get(f"{group}/v1", "Widget", "w", namespace))["spec"] == {"size": 3}


async def test_bad_credentials_and_unreachable_servers(local_cluster_session: Any) -> None:
    config = load_kubeconfig(local_cluster_session.kubeconfig)
    raw = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "clusters": [
            {
                "name": "k",
                "cluster": {
                    "server": config.server,
                    "certificate-authority": str(local_cluster_session.ca_path),
                },
            }
        ],
        "users": [{"name": "u", "user": {"token": "wrong-token"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    }
    async with KubeClient(kubeconfig_from_dict(raw)) as bad:
        with pytest.raises(Unauthorized) as caught:
            await bad.list("v1", "Namespace")
        assert "wrong-token" not in str(caught.value)
    raw["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    async with KubeClient(kubeconfig_from_dict(raw), timeout=2) as nowhere:
        with pytest.raises(Unavailable, match="failed to get version"):
            await nowhere.version()


async def test_throttle_bounds_requests_in_flight(local_cluster_session: Any) -> None:
    config = load_kubeconfig(local_cluster_session.kubeconfig)
    throttle = Throttle(qps=0, max_in_flight=2)
    async with KubeClient(config, throttle=throttle) as kube:
        results = await asyncio.gather(*(kube.version() for _ in range(10)))
    assert len(results) == 10
