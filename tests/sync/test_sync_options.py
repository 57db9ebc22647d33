"""Every sync option, against a real local cluster."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tether.kube import KubeClient, NotFound, load_kubeconfig
from tether.model import OperationPhase, ResourceKey, ResultCode, keys
from tether.model.operation import Operation, OperationState, SyncOperation
from tether.model.project import default_project
from tether.model.syncoptions import SyncOptions
from tether.model.syncpolicy import ManagedNamespaceMetadata
from tether.sync import Destination, SyncContext, plan_sync, run_sync

APP = "opts"
_names = itertools.count()


@pytest.fixture
async def client(local_cluster_session: Any) -> AsyncIterator[KubeClient]:
    async with KubeClient(load_kubeconfig(local_cluster_session.kubeconfig)) as kube:
        yield kube


@pytest.fixture
async def namespace(client: KubeClient) -> str:
    name = f"opts-{next(_names)}"
    await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def cm(name: str, ns: str, **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": ns}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"k": "v"}}


async def sync(
    client: KubeClient,
    ns: str,
    desired: list[dict[str, Any]],
    *,
    options: SyncOptions | None = None,
    prune: bool = True,
    prune_candidates: list[ResourceKey] | None = None,
    live: dict[ResourceKey, dict[str, Any]] | None = None,
    create_namespace: bool = False,
    managed: ManagedNamespaceMetadata | None = None,
    terminate: asyncio.Event | None = None,
) -> OperationState:
    state = OperationState(
        operation=Operation(sync=SyncOperation(revision="r", prune=prune)),
        phase=OperationPhase.RUNNING,
        started_at=datetime.now(UTC),
    )

    async def save(_: OperationState) -> None:
        return None

    context = SyncContext(
        client=client,
        app_name=APP,
        project=default_project("argocd"),
        destination=Destination("https://kubernetes.default.svc", namespace=ns),
        save=save,
        create_namespace=create_namespace,
        managed_namespace_metadata=managed,
        poll_interval=0.02,
    )
    if terminate is not None:
        context.terminate = terminate
    plan = plan_sync(
        desired,
        live or {},
        options=options or SyncOptions(),
        prune=prune,
        prune_candidates=prune_candidates or [],
    )
    return await asyncio.wait_for(run_sync(context, plan, state), 60)


async def test_create_namespace_with_managed_metadata(client: KubeClient) -> None:
    ns = f"created-{next(_names)}"
    managed = ManagedNamespaceMetadata(labels={"team": "shop"}, annotations={"owner": "ops"})
    state = await sync(client, ns, [cm("a", ns)], create_namespace=True, managed=managed)
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    namespace = await client.get("v1", "Namespace", ns)
    assert namespace["metadata"]["labels"]["team"] == "shop"
    assert namespace["metadata"]["annotations"]["owner"] == "ops"
    await client.get("v1", "ConfigMap", "a", ns)


async def test_without_create_namespace_a_missing_namespace_fails_the_dry_run(
    client: KubeClient,
) -> None:
    ns = f"absent-{next(_names)}"
    state = await sync(client, ns, [cm("a", ns)])
    assert state.phase is OperationPhase.FAILED
    assert ns in state.message


@pytest.mark.parametrize(
    ("policy", "child_survives"), [("orphan", True), ("background", False), ("foreground", False)]
)
async def test_prune_propagation_policy(
    client: KubeClient, namespace: str, policy: str, child_survives: bool
) -> None:
    parent = await client.apply(
        cm("parent", namespace, **{keys.TRACKING_ID: f"{APP}:/ConfigMap:{namespace}/parent"})
    )
    owner = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "parent",
        "uid": parent["metadata"]["uid"],
    }
    child = cm("child", namespace)
    child["metadata"]["ownerReferences"] = [owner]
    await client.apply(child)
    key = ResourceKey.of(parent)
    options = SyncOptions.parse([f"PrunePropagationPolicy={policy}"])
    state = await sync(
        client, namespace, [], options=options, prune_candidates=[key], live={key: parent}
    )
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    async with asyncio.timeout(10):
        while True:
            try:
                await client.get("v1", "ConfigMap", "parent", namespace)
            except NotFound:
                break
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # give the garbage collector its chance
    try:
        found = await client.get("v1", "ConfigMap", "child", namespace)
    except NotFound:
        found = None
    assert (found is not None) is child_survives
    if found is not None:
        assert not found["metadata"].get("ownerReferences")


async def test_skip_dry_run_for_kinds_a_crd_in_the_same_sync_adds(
    client: KubeClient, namespace: str
) -> None:
    group = f"g{next(_names)}.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
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
    gadget = {
        "apiVersion": f"{group}/v1",
        "kind": "Gadget",
        "metadata": {"name": "g", "namespace": namespace},
    }
    state = await sync(client, namespace, [gadget, crd])
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    await client.discovery.refresh()
    await client.get(f"{group}/v1", "Gadget", "g", namespace)


async def test_an_unknown_kind_fails_unless_skip_dry_run_is_set(
    client: KubeClient, namespace: str
) -> None:
    widget = {
        "apiVersion": "nowhere.example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": namespace},
    }
    state = await sync(client, namespace, [widget])
    assert state.phase is OperationPhase.FAILED
    assert "Widget" in state.message


async def test_validate_false_accepts_unknown_fields(client: KubeClient, namespace: str) -> None:
    sloppy = cm("sloppy", namespace)
    sloppy["unknownTopLevelField"] = "x"
    strict = await sync(client, namespace, [sloppy])
    assert strict.phase is OperationPhase.FAILED
    assert "unknownTopLevelField" in strict.message
    relaxed = await sync(client, namespace, [sloppy], options=SyncOptions.parse(["Validate=false"]))
    assert relaxed.phase is OperationPhase.SUCCEEDED, relaxed.message


async def test_fail_on_shared_resource(client: KubeClient, namespace: str) -> None:
    theirs = await client.apply(
        cm("shared", namespace, **{keys.TRACKING_ID: f"other:/ConfigMap:{namespace}/shared"})
    )
    key = ResourceKey.of(theirs)
    options = SyncOptions.parse(["FailOnSharedResource=true"])
    state = await sync(
        client, namespace, [cm("shared", namespace)], options=options, live={key: theirs}
    )
    assert state.phase is OperationPhase.FAILED
    assert "already managed by application other" in state.message
    taken = await sync(client, namespace, [cm("shared", namespace)], live={key: theirs})
    assert taken.phase is OperationPhase.SUCCEEDED
    live = await client.get("v1", "ConfigMap", "shared", namespace)
    assert (
        live["metadata"]["annotations"][keys.TRACKING_ID] == f"{APP}:/ConfigMap:{namespace}/shared"
    )


async def test_server_side_apply_uses_the_tether_field_manager(
    client: KubeClient, namespace: str
) -> None:
    await sync(client, namespace, [cm("owned", namespace)])
    live = await client.get("v1", "ConfigMap", "owned", namespace)
    managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
    assert ("tether", "Apply") in managers


async def test_apply_out_of_sync_only_leaves_synced_objects_alone(
    client: KubeClient, namespace: str
) -> None:
    await sync(client, namespace, [cm("a", namespace), cm("b", namespace)])
    before = (await client.get("v1", "ConfigMap", "a", namespace))["metadata"]["resourceVersion"]
    out_of_sync_b = cm("b", namespace)
    out_of_sync_b["data"] = {"k": "changed"}
    options = SyncOptions.parse(["ApplyOutOfSyncOnly=true"])
    state = OperationState(
        operation=Operation(sync=SyncOperation(revision="r")),
        phase=OperationPhase.RUNNING,
        started_at=datetime.now(UTC),
    )

    async def save(_: OperationState) -> None:
        return None

    context = SyncContext(
        client=client,
        app_name=APP,
        project=default_project("argocd"),
        destination=Destination("https://kubernetes.default.svc", namespace=namespace),
        save=save,
        poll_interval=0.02,
    )
    b_key = ResourceKey.of(out_of_sync_b)
    plan = plan_sync(
        [cm("a", namespace), out_of_sync_b], {}, options=options, prune=False, out_of_sync={b_key}
    )
    final = await run_sync(context, plan, state)
    assert final.phase is OperationPhase.SUCCEEDED
    assert (await client.get("v1", "ConfigMap", "a", namespace))["metadata"][
        "resourceVersion"
    ] == before
    assert (await client.get("v1", "ConfigMap", "b", namespace))["data"] == {"k": "changed"}


async def test_replace_with_force_recreates_the_object(client: KubeClient, namespace: str) -> None:
    await sync(client, namespace, [cm("r", namespace)])
    uid = (await client.get("v1", "ConfigMap", "r", namespace))["metadata"]["uid"]
    live = await client.get("v1", "ConfigMap", "r", namespace)
    options = SyncOptions.parse(["Replace=true", "Force=true"])
    state = await sync(
        client, namespace, [cm("r", namespace)], options=options, live={ResourceKey.of(live): live}
    )
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    assert (await client.get("v1", "ConfigMap", "r", namespace))["metadata"]["uid"] != uid


async def test_terminate_stops_the_operation_at_the_next_step(
    client: KubeClient, namespace: str
) -> None:
    stop = asyncio.Event()
    stop.set()
    state = await sync(
        client, namespace, [cm("a", namespace, **{keys.SYNC_WAVE: "1"})], terminate=stop
    )
    assert state.phase is OperationPhase.FAILED
    assert state.message == "Operation terminated"
    with pytest.raises(NotFound):
        await client.get("v1", "ConfigMap", "a", namespace)


async def test_prune_results_are_recorded(client: KubeClient, namespace: str) -> None:
    old = await client.apply(
        cm("old", namespace, **{keys.TRACKING_ID: f"{APP}:/ConfigMap:{namespace}/old"})
    )
    key = ResourceKey.of(old)
    state = await sync(client, namespace, [], prune_candidates=[key], live={key: old})
    assert state.sync_result is not None
    assert [(r.name, r.status) for r in state.sync_result.resources] == [("old", ResultCode.PRUNED)]
