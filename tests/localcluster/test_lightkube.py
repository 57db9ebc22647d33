"""lightkube's async client against the local cluster: the core flows tether relies on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from lightkube import ApiError, AsyncClient, KubeConfig
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Secret
from lightkube.types import PatchType

from .conftest import RunningCluster


@pytest.fixture
async def client(local_cluster_session: RunningCluster) -> AsyncIterator[AsyncClient]:
    config = KubeConfig.from_file(str(local_cluster_session.kubeconfig))
    namespace = f"lk-{uuid.uuid4().hex[:8]}"
    async with AsyncClient(config, namespace=namespace) as api:
        await api.create(Namespace(metadata=ObjectMeta(name=namespace)))
        yield api


def deployment(name: str, image: str = "nginx:1.25") -> Deployment:
    labels = {"app": name}
    return Deployment(
        metadata=ObjectMeta(name=name, labels=labels),
        spec=DeploymentSpec(
            replicas=1,
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="app", image=image)]),
            ),
        ),
    )


async def test_create_get_list_delete(client: AsyncClient) -> None:
    created = await client.create(
        ConfigMap(metadata=ObjectMeta(name="a", labels={"x": "1"}), data={"k": "v"})
    )
    assert created.metadata is not None
    assert created.metadata.resourceVersion
    await client.create(ConfigMap(metadata=ObjectMeta(name="b", labels={"x": "2"})))
    got = await client.get(ConfigMap, "a")
    assert got.data == {"k": "v"}
    names = [
        cm.metadata.name async for cm in client.list(ConfigMap, labels={"x": "1"}) if cm.metadata
    ]
    assert names == ["a"]
    await client.delete(ConfigMap, "a")
    with pytest.raises(ApiError) as missing:
        await client.get(ConfigMap, "a")
    assert missing.value.status.code == 404
    assert missing.value.status.reason == "NotFound"


async def test_stale_replace_is_a_conflict(client: AsyncClient) -> None:
    first = await client.create(ConfigMap(metadata=ObjectMeta(name="c"), data={"n": "1"}))
    first.data = {"n": "2"}
    await client.replace(first)
    first.data = {"n": "3"}
    with pytest.raises(ApiError) as conflict:
        await client.replace(first)
    assert conflict.value.status.code == 409
    assert conflict.value.status.message == (
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


async def test_server_side_apply_and_patches(client: AsyncClient) -> None:
    applied = await client.apply(deployment("web"), field_manager="tether")
    assert applied.metadata is not None
    assert applied.metadata.generation == 1
    await client.patch(Deployment, "web", {"spec": {"replicas": 3}}, patch_type=PatchType.MERGE)
    await client.patch(
        Deployment,
        "web",
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "n:2"}]}}}},
        patch_type=PatchType.STRATEGIC,
    )
    with pytest.raises(ApiError) as conflict:
        await client.apply(deployment("web"), field_manager="tether")
    assert conflict.value.status.code == 409
    forced = await client.apply(deployment("web"), field_manager="tether", force=True)
    assert forced.spec is not None
    assert forced.spec.replicas == 1
    assert forced.spec.template.spec is not None
    assert forced.spec.template.spec.containers[0].image == "nginx:1.25"


async def test_secret_string_data_is_stored_as_data(client: AsyncClient) -> None:
    secret = await client.create(
        Secret(metadata=ObjectMeta(name="s"), stringData={"password": "hunter2"})
    )
    assert secret.data == {"password": "aHVudGVyMg=="}
    assert secret.stringData is None


async def test_watch_streams_changes(client: AsyncClient) -> None:
    await client.create(ConfigMap(metadata=ObjectMeta(name="w")))
    seen: list[tuple[str, str]] = []
    established = asyncio.Event()

    async def watch() -> None:
        async for kind, obj in client.watch(ConfigMap, fields={"metadata.name": "w"}):
            assert obj.metadata is not None
            seen.append((kind, obj.metadata.name or ""))
            established.set()  # the initial ADDED: the watch is open
            if kind == "DELETED":
                return

    task = asyncio.create_task(watch())
    await asyncio.wait_for(established.wait(), 10)
    await client.patch(ConfigMap, "w", {"data": {"a": "b"}}, patch_type=PatchType.MERGE)
    await client.delete(ConfigMap, "w")
    await asyncio.wait_for(task, 10)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


async def test_custom_resources_through_generic_resources(client: AsyncClient) -> None:
    gadget_crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.org"},
        "spec": {
            "group": "example.org",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "kind": "Gadget"},
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
    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

    await client.apply(
        CustomResourceDefinition.from_dict(gadget_crd), field_manager="t", force=True
    )
    gadget = create_namespaced_resource("example.org", "v1", "Gadget", "gadgets")
    await client.create(
        gadget.from_dict(
            {
                "apiVersion": "example.org/v1",
                "kind": "Gadget",
                "metadata": {"name": "g1"},
                "spec": {"any": [1]},
            }
        )
    )
    got = await client.get(gadget, "g1")
    assert got["spec"] == {"any": [1]}
    await client.delete(CustomResourceDefinition, "gadgets.example.org")
