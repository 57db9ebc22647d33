"""The in-process API: the semantics every HTTP verb and every controller relies on."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tether.localcluster.errors import APIError
from tether.localcluster.options import DeleteOptions, WriteOptions
from tether.localcluster.resources import ResourceType
from tether.localcluster.selectors import parse_field_selector, parse_label_selector
from tether.localcluster.server import Cluster

WAIT_SECONDS = 5.0


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    running = Cluster(tmp_path)
    await running.start()
    yield running
    await running.close()


def rtype(cluster: Cluster, group: str, plural: str) -> ResourceType:
    found = cluster.registry.get(group, plural)
    assert found is not None
    return found


def configmap(name: str, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, **meta},
        "data": {"k": "v"},
    }


def deployment(name: str = "web", replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }


async def settles(cluster: Cluster, check: Callable[[], bool]) -> None:
    """Wait (bounded) for the controllers to make ``check`` true, woken by each change."""
    _, watch = cluster.store.watch(None)
    async with watch, asyncio.timeout(WAIT_SECONDS):
        while not check():
            await watch.next(0.1)


async def test_initial_namespaces_exist(cluster: Cluster) -> None:
    names = [
        e.metadata["name"] for e in cluster.store.list(rtype(cluster, "", "namespaces")).entries
    ]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]


async def test_generation_follows_spec_changes_only(cluster: Cluster) -> None:
    deploys = rtype(cluster, "apps", "deployments")
    created = (await cluster.store.create(deploys, "default", deployment())).entry
    assert created.metadata["generation"] == 1

    labelled = copy.deepcopy(created.obj)
    labelled["metadata"]["labels"]["extra"] = "yes"
    after_label = (await cluster.store.update(deploys, "default", "web", labelled)).entry
    assert after_label.metadata["generation"] == 1

    status = copy.deepcopy(after_label.obj)
    status["status"] = {"replicas": 1}
    after_status = (
        await cluster.store.update(
            deploys, "default", "web", status, WriteOptions(subresource="status")
        )
    ).entry
    assert after_status.metadata["generation"] == 1
    assert after_status.obj["status"] == {"replicas": 1}

    scaled = copy.deepcopy(after_status.obj)
    scaled["spec"]["replicas"] = 3
    scaled["status"] = {"replicas": 99}  # ignored: status is a subresource
    after_scale = (await cluster.store.update(deploys, "default", "web", scaled)).entry
    assert after_scale.metadata["generation"] == 2
    assert after_scale.obj["status"] == {"replicas": 1}
    assert int(after_scale.metadata["resourceVersion"]) > int(
        after_status.metadata["resourceVersion"]
    )


async def test_status_write_changes_only_status(cluster: Cluster) -> None:
    deploys = rtype(cluster, "apps", "deployments")
    created = (await cluster.store.create(deploys, "default", deployment())).entry
    body = copy.deepcopy(created.obj)
    body["spec"]["replicas"] = 7
    body["status"] = {"readyReplicas": 1}
    written = (
        await cluster.store.update(
            deploys, "default", "web", body, WriteOptions(subresource="status")
        )
    ).entry
    assert written.obj["spec"]["replicas"] == 1
    assert written.obj["status"] == {"readyReplicas": 1}


async def test_identical_update_is_a_no_op(cluster: Cluster) -> None:
    cms = rtype(cluster, "", "configmaps")
    created = (await cluster.store.create(cms, "default", configmap("same"))).entry
    again = (await cluster.store.update(cms, "default", "same", copy.deepcopy(created.obj))).entry
    assert again.rv == created.rv


async def test_stale_update_conflicts(cluster: Cluster) -> None:
    cms = rtype(cluster, "", "configmaps")
    created = (await cluster.store.create(cms, "default", configmap("c"))).entry
    first = copy.deepcopy(created.obj)
    first["data"] = {"k": "1"}
    await cluster.store.update(cms, "default", "c", first)
    stale = copy.deepcopy(created.obj)
    stale["data"] = {"k": "2"}
    with pytest.raises(APIError) as error:
        await cluster.store.update(cms, "default", "c", stale)
    assert (error.value.code, error.value.reason) == (409, "Conflict")


async def test_generate_name_and_secret_string_data(cluster: Cluster) -> None:
    secrets = rtype(cluster, "", "secrets")
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"generateName": "token-"},
        "stringData": {"a": "b"},
    }
    entry = (await cluster.store.create(secrets, "default", body)).entry
    name = entry.metadata["name"]
    assert name.startswith("token-")
    assert len(name) == len("token-") + 5
    assert entry.obj["data"] == {"a": "Yg=="}
    assert "stringData" not in entry.obj


async def test_finalizers_hold_deletion_until_removed(cluster: Cluster) -> None:
    cms = rtype(cluster, "", "configmaps")
    await cluster.store.create(cms, "default", configmap("held", finalizers=["example.com/x"]))
    deleted = await cluster.store.delete(cms, "default", "held")
    assert not deleted.gone
    assert deleted.entry.metadata["deletionGracePeriodSeconds"] == 0
    assert "deletionTimestamp" in deleted.entry.metadata
    released = copy.deepcopy(deleted.entry.obj)
    released["metadata"]["finalizers"] = []
    await cluster.store.update(cms, "default", "held", released)
    assert cluster.store.lookup(cms, "default", "held") is None


async def test_dry_run_stores_nothing(cluster: Cluster) -> None:
    cms = rtype(cluster, "", "configmaps")
    rv = cluster.store.resource_version()
    dry = WriteOptions(dry_run=True)
    result = await cluster.store.create(cms, "default", configmap("dry"), dry)
    assert result.entry.metadata["uid"]
    assert cluster.store.lookup(cms, "default", "dry") is None
    await cluster.store.create(cms, "default", configmap("real"))
    changed = configmap("real")
    changed["data"] = {"k": "changed"}
    await cluster.store.update(cms, "default", "real", changed, dry)
    await cluster.store.delete(cms, "default", "real", DeleteOptions(dry_run=True))
    kept = cluster.store.lookup(cms, "default", "real")
    assert kept is not None
    assert kept.obj["data"] == {"k": "v"}
    assert cluster.store.resource_version() == rv + 1


@pytest.mark.parametrize(
    ("propagation", "dependent_remains"),
    [("Background", False), ("Foreground", False), ("Orphan", True)],
)
async def test_garbage_collection_by_owner_references(
    cluster: Cluster, propagation: str, dependent_remains: bool
) -> None:
    deploys = rtype(cluster, "apps", "deployments")
    cms = rtype(cluster, "", "configmaps")
    owner = (await cluster.store.create(deploys, "default", deployment())).entry
    ref = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
        "uid": owner.metadata["uid"],
        "blockOwnerDeletion": True,
    }
    await cluster.store.create(cms, "default", configmap("dep", ownerReferences=[ref]))
    await cluster.store.delete(deploys, "default", "web", DeleteOptions(propagation=propagation))
    await settles(cluster, lambda: cluster.store.lookup(deploys, "default", "web") is None)
    dependent = cluster.store.lookup(cms, "default", "dep")
    if dependent_remains:
        assert dependent is not None
        assert "ownerReferences" not in dependent.metadata
    else:
        assert dependent is None


async def test_foreground_deletion_waits_for_blocking_dependents(cluster: Cluster) -> None:
    deploys = rtype(cluster, "apps", "deployments")
    cms = rtype(cluster, "", "configmaps")
    owner = (await cluster.store.create(deploys, "default", deployment())).entry
    ref = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
        "uid": owner.metadata["uid"],
        "blockOwnerDeletion": True,
    }
    await cluster.store.create(
        cms, "default", configmap("dep", ownerReferences=[ref], finalizers=["example.com/slow"])
    )
    marked = await cluster.store.delete(
        deploys, "default", "web", DeleteOptions(propagation="Foreground")
    )
    assert marked.entry.metadata["finalizers"] == ["foregroundDeletion"]
    await settles(
        cluster,
        lambda: (
            "deletionTimestamp" in (cluster.store.lookup(cms, "default", "dep") or owner).metadata
        ),
    )
    assert cluster.store.lookup(deploys, "default", "web") is not None  # still blocked
    dep = cluster.store.lookup(cms, "default", "dep")
    assert dep is not None
    released = copy.deepcopy(dep.obj)
    released["metadata"]["finalizers"] = [
        f for f in released["metadata"]["finalizers"] if f != "example.com/slow"
    ]
    await cluster.store.update(cms, "default", "dep", released)
    await settles(cluster, lambda: cluster.store.lookup(deploys, "default", "web") is None)


async def test_terminating_namespace_refuses_new_content(cluster: Cluster) -> None:
    namespaces = rtype(cluster, "", "namespaces")
    cms = rtype(cluster, "", "configmaps")
    await cluster.store.create(
        namespaces, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}}
    )
    await cluster.store.create(cms, "doomed", configmap("a", finalizers=["example.com/x"]))
    marked = await cluster.store.delete(namespaces, None, "doomed")
    assert marked.entry.obj["status"]["phase"] == "Terminating"
    with pytest.raises(APIError) as refused:
        await cluster.store.create(cms, "doomed", configmap("b"))
    assert (refused.value.code, refused.value.reason) == (403, "Forbidden")
    assert refused.value.message == (
        'configmaps "b" is forbidden: unable to create new content in namespace doomed '
        "because it is being terminated"
    )
    held = cluster.store.lookup(cms, "doomed", "a")
    assert held is not None
    released = copy.deepcopy(held.obj)
    released["metadata"]["finalizers"] = []
    await cluster.store.update(cms, "doomed", "a", released)
    await settles(cluster, lambda: cluster.store.lookup(namespaces, None, "doomed") is None)


async def test_watch_replays_from_a_resource_version(cluster: Cluster) -> None:
    cms = rtype(cluster, "", "configmaps")
    first = (await cluster.store.create(cms, "default", configmap("one"))).entry
    await cluster.store.create(cms, "default", configmap("two"))
    replay, watch = cluster.store.watch(cms, "default", resource_version=str(first.rv))
    async with watch:
        assert [(e.type, e.name) for e in replay] == [("ADDED", "two")]
        await cluster.store.delete(cms, "default", "one")
        event = await watch.next(5)
        assert event is not None
        assert (event.type, event.name) == ("DELETED", "one")


async def test_watch_from_a_compacted_version_is_gone(tmp_path: Path) -> None:
    small = Cluster(tmp_path, event_window=8)
    await small.start()
    try:
        cms = rtype(small, "", "configmaps")
        for index in range(20):
            await small.store.create(cms, "default", configmap(f"c{index}"))
        with pytest.raises(APIError) as gone:
            small.store.watch(cms, resource_version="2")
        assert (gone.value.code, gone.value.reason) == (410, "Expired")
        assert gone.value.message.startswith("too old resource version: 2 (")
    finally:
        await small.close()


async def test_selectors_limit_and_continue(cluster: Cluster) -> None:
    cms = rtype(cluster, "", "configmaps")
    for index in range(5):
        await cluster.store.create(
            cms, "default", configmap(f"c{index}", labels={"tier": "a" if index % 2 else "b"})
        )
    selected = cluster.store.list(cms, "default", parse_label_selector("tier in (a)"))
    assert [e.metadata["name"] for e in selected.entries] == ["c1", "c3"]
    named = cluster.store.list(
        cms, "default", fields=parse_field_selector("metadata.name=c4", cms.key)
    )
    assert [e.metadata["name"] for e in named.entries] == ["c4"]
    page = cluster.store.list(cms, "default", limit=2)
    assert [e.metadata["name"] for e in page.entries] == ["c0", "c1"]
    assert page.remaining == 3
    rest = cluster.store.list(cms, "default", continue_token=page.continue_token)
    assert [e.metadata["name"] for e in rest.entries] == ["c2", "c3", "c4"]
    deleted = await cluster.store.delete_collection(cms, "default", parse_label_selector("tier=b"))
    assert sorted(e.metadata["name"] for e in deleted) == ["c0", "c2", "c4"]


async def test_resource_versions_survive_restart(tmp_path: Path) -> None:
    first = Cluster(tmp_path)
    await first.start()
    cms = rtype(first, "", "configmaps")
    last = (await first.store.create(cms, "default", configmap("kept"))).entry.rv
    await first.close()
    second = Cluster(tmp_path)
    await second.start()
    try:
        kept = second.store.lookup(cms, "default", "kept")
        assert kept is not None
        assert kept.rv == last
        after = (await second.store.create(cms, "default", configmap("new"))).entry.rv
        assert after > last
    finally:
        await second.close()


@pytest.mark.parametrize(
    ("image", "pull_policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry:5000/app", "Always"),
        ("app@sha256:" + "0" * 64, "IfNotPresent"),
    ],
)
async def test_built_in_defaults_are_filled_in(
    cluster: Cluster, image: str, pull_policy: str
) -> None:
    body = deployment()
    body["spec"]["template"]["spec"]["containers"][0]["image"] = image
    body["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 80}]
    stored = (
        await cluster.store.create(rtype(cluster, "apps", "deployments"), "default", body)
    ).entry.obj
    spec = stored["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    pod = spec["template"]["spec"]
    assert (pod["restartPolicy"], pod["dnsPolicy"]) == ("Always", "ClusterFirst")
    container = pod["containers"][0]
    assert container["imagePullPolicy"] == pull_policy
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


async def test_service_gets_a_cluster_ip(cluster: Cluster) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    spec = (await cluster.store.create(rtype(cluster, "", "services"), "default", body)).entry.obj[
        "spec"
    ]
    assert spec["type"] == "ClusterIP"
    assert spec["clusterIP"].startswith("10.")
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
async def test_system_namespaces_may_not_be_deleted(cluster: Cluster, name: str) -> None:
    with pytest.raises(APIError) as refused:
        await cluster.store.delete(rtype(cluster, "", "namespaces"), None, name)
    assert (refused.value.code, refused.value.message) == (
        403,
        f'namespaces "{name}" is forbidden: this namespace may not be deleted',
    )


async def test_pods_on_a_node_are_deleted_gracefully(cluster: Cluster) -> None:
    pods = rtype(cluster, "", "pods")
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "nodeName": "node-1",
            "terminationGracePeriodSeconds": 20,
            "containers": [{"name": "c", "image": "i"}],
        },
    }
    await cluster.store.create(pods, "default", body)
    marked = await cluster.store.delete(pods, "default", "p")
    assert not marked.gone
    assert marked.entry.metadata["deletionGracePeriodSeconds"] == 20
    shorter = await cluster.store.delete(
        pods, "default", "p", DeleteOptions(grace_period_seconds=5)
    )
    assert shorter.entry.metadata["deletionGracePeriodSeconds"] == 5
    forced = await cluster.store.delete(pods, "default", "p", DeleteOptions(grace_period_seconds=0))
    assert forced.gone
    unbound = {
        **body,
        "metadata": {"name": "q"},
        "spec": {"containers": body["spec"]["containers"]},
    }
    await cluster.store.create(pods, "default", unbound)
    assert (await cluster.store.delete(pods, "default", "q")).gone


def two_version_crd() -> dict[str, Any]:
    def version(name: str, storage: bool, sizes: list[str]) -> dict[str, Any]:
        return {
            "name": name,
            "served": True,
            "storage": storage,
            "schema": {
                "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": {"size": {"type": "string", "enum": sizes}},
                        }
                    },
                }
            },
        }

    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "boxes.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "boxes", "kind": "Box"},
            "versions": [
                version("v1", True, ["small"]),
                version("v1beta1", False, ["small", "legacy"]),
            ],
        },
    }


async def test_custom_resources_validate_at_the_version_written(cluster: Cluster) -> None:
    crds = rtype(cluster, "apiextensions.k8s.io", "customresourcedefinitions")
    await cluster.store.create(crds, None, two_version_crd())
    boxes = rtype(cluster, "example.com", "boxes")  # served as soon as the create returns
    assert boxes.versions == ("v1", "v1beta1")
    legacy = {
        "apiVersion": "example.com/v1beta1",
        "kind": "Box",
        "metadata": {"name": "old"},
        "spec": {"size": "legacy"},
    }
    stored = (await cluster.store.create(boxes, "default", legacy, version="v1beta1")).entry
    assert stored.obj["apiVersion"] == "example.com/v1"  # the storage version
    with pytest.raises(APIError) as refused:
        await cluster.store.create(
            boxes,
            "default",
            {
                "apiVersion": "example.com/v1",
                "kind": "Box",
                "metadata": {"name": "new"},
                "spec": {"size": "legacy"},
            },
        )
    assert refused.value.code == 422


async def test_writes_computed_from_a_stale_read_conflict(cluster: Cluster) -> None:
    cms = rtype(cluster, "", "configmaps")
    read = (await cluster.store.create(cms, "default", configmap("raced"))).entry
    first = copy.deepcopy(read.obj)
    first["data"] = {"k": "first"}
    await cluster.store.replace_with(cms, read, first, WriteOptions(field_manager="a"))
    second = copy.deepcopy(read.obj)
    second["data"] = {"k": "second"}
    with pytest.raises(APIError) as lost:
        await cluster.store.replace_with(cms, read, second, WriteOptions(field_manager="b"))
    assert (lost.value.code, lost.value.reason) == (409, "Conflict")
    stored = cluster.store.lookup(cms, "default", "raced")
    assert stored is not None
    assert stored.obj["data"] == {"k": "first"}


async def test_concurrent_updates_with_one_resource_version_one_wins(cluster: Cluster) -> None:
    cms = rtype(cluster, "", "configmaps")
    read = (await cluster.store.create(cms, "default", configmap("contended"))).entry

    async def update(value: str) -> int:
        body = copy.deepcopy(read.obj)
        body["data"] = {"k": value}
        try:
            await cluster.store.update(cms, "default", "contended", body)
        except APIError as error:
            return error.code
        return 200

    results = await asyncio.gather(*(update(str(i)) for i in range(8)))
    assert sorted(results) == [200] + [409] * 7


async def test_timestamps_come_from_the_injected_clock(tmp_path: Path) -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    fixed = Cluster(tmp_path, clock=lambda: moment)
    await fixed.start()
    try:
        pods = rtype(fixed, "", "pods")
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"nodeName": "n", "containers": [{"name": "c", "image": "i"}]},
        }
        created = (await fixed.store.create(pods, "default", body)).entry.metadata
        assert created["creationTimestamp"] == "2030-01-02T03:04:05Z"
        assert created["managedFields"][0]["time"] == "2030-01-02T03:04:05Z"
        deleting = (await fixed.store.delete(pods, "default", "p")).entry.metadata
        assert deleting["deletionTimestamp"] == "2030-01-02T03:04:35Z"  # + 30 s grace
    finally:
        await fixed.close()
