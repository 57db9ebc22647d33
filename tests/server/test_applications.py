"""Applications through the API: list filters and paging, writes, syncs, inspection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import pytest_asyncio
import yaml
from serverharness import TESTDATA, Harness, application, running_server

from tether.kube import KubeClient, NotFound
from tether.model import API_VERSION, Application

pytestmark = pytest.mark.asyncio(loop_scope="session")


class DirectoryManifests:
    """A manifest source reading the objects of a YAML file (what a render would return)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.calls: list[tuple[str, str]] = []

    async def manifests(self, app: Application, revision: str = "") -> list[dict[str, Any]]:
        self.calls.append((app.name, revision))
        text = (TESTDATA / self.path).read_text()
        return [d for d in yaml.safe_load_all(text) if d]


@pytest_asyncio.fixture(loop_scope="session")
async def rendered(kube: KubeClient) -> AsyncIterator[tuple[Harness, DirectoryManifests]]:
    source = DirectoryManifests("deployment-guestbook.yaml")
    async with running_server(kube, manifests=source) as harness:
        yield harness, source


async def _names(server: Harness, **params: Any) -> list[str]:
    response = await server.http.get("/api/v1/applications", headers=server.auth(), params=params)
    assert response.status_code == 200, response.text
    return [i["metadata"]["name"] for i in response.json()["items"]]


async def test_list_filters(server: Harness) -> None:
    await server.create_app(application("alpha", labels={"team": "a", "tier": "web"}))
    await server.create_app(
        application("beta", labels={"team": "b"}, repo="git@github.com:example/other.git")
    )
    await server.create_app(application("gamma", project="default", labels={"team": "a"}))
    await server.kube.patch(
        API_VERSION,
        "Application",
        "gamma",
        server.namespace,
        {"status": {"sync": {"status": "OutOfSync"}, "health": {"status": "Degraded"}}},
    )
    await asyncio.sleep(0.2)  # the watch delivers the status change
    assert await _names(server) == ["alpha", "beta", "gamma"]
    assert await _names(server, selector="team=a") == ["alpha", "gamma"]
    assert await _names(server, selector="team in (a,b),!tier") == ["beta", "gamma"]
    assert await _names(server, repo="https://github.com/example/other") == ["beta"]
    assert await _names(server, syncStatus="OutOfSync") == ["gamma"]
    assert await _names(server, healthStatus="Degraded") == ["gamma"]
    assert await _names(server, search="ALP") == ["alpha"]
    assert await _names(server, projects="nope") == []


async def test_paging_with_limit_and_continue(server: Harness) -> None:
    for index in range(7):
        await server.create_app(application(f"page-{index}"))
    seen: list[str] = []
    token = ""
    for _ in range(10):
        response = await server.http.get(
            "/api/v1/applications",
            headers=server.auth(),
            params={"limit": 3, "continue": token},
        )
        body = response.json()
        seen += [i["metadata"]["name"] for i in body["items"]]
        assert body["metadata"]["resourceVersion"]
        token = body["metadata"]["continue"]
        if not token:
            break
    assert seen == [f"page-{i}" for i in range(7)]


@pytest.mark.parametrize(
    "params",
    [
        {"selector": "team=a; rm -rf /"},
        {"selector": "a in (b"},
        {"selector": "x" * 5000},
        {"continue": "%%%not-base64"},
        {"limit": "-1"},
        {"limit": "100000"},
        {"search": "s" * 300},
    ],
)
async def test_bad_filters_are_400(server: Harness, params: dict[str, str]) -> None:
    response = await server.http.get("/api/v1/applications", headers=server.auth(), params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]


@pytest.mark.parametrize("name", ["..%2F..%2Fsecrets", "UPPER", "a" * 300, "semi;colon"])
async def test_hostile_names_are_refused_without_reaching_the_cluster(
    server: Harness, name: str
) -> None:
    response = await server.http.get(f"/api/v1/applications/{name}", headers=server.auth())
    assert response.status_code in (400, 404), response.text
    if response.status_code == 400:
        assert "invalid name" in response.json()["error"]


async def test_create_update_upsert_and_audit(server: Harness) -> None:
    body = application("web")
    created = await server.http.post("/api/v1/applications", headers=server.auth(), json=body)
    assert created.status_code == 200, created.text
    assert created.json()["metadata"]["namespace"] == server.namespace
    same = await server.http.post("/api/v1/applications", headers=server.auth(), json=body)
    assert same.status_code == 200
    changed = application("web", revision="v2")
    refused = await server.http.post("/api/v1/applications", headers=server.auth(), json=changed)
    assert refused.status_code == 400
    assert "upsert" in refused.json()["error"]
    upserted = await server.http.post(
        "/api/v1/applications?upsert=true", headers=server.auth(), json=changed
    )
    assert upserted.json()["spec"]["source"]["targetRevision"] == "v2"
    updated = await server.http.put(
        "/api/v1/applications/web", headers=server.auth(), json=application("web", path="other")
    )
    assert updated.status_code == 200
    assert (await server.get_app("web"))["spec"]["source"]["path"] == "other"
    events = await server.kube.list("v1", "Event", server.namespace)
    messages = [e["message"] for e in events.items if e["involvedObject"]["name"] == "web"]
    assert sorted(messages) == [
        "admin created application web",
        "admin updated application web",
        "admin updated application web",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"metadata": {"name": "x"}, "spec": {"source": "nope"}}, "invalid application"),
        ({"kind": "Application"}, "metadata.name"),
        (application("x", project="missing"), "project missing which does not exist"),
        (application("Bad_Name"), "invalid application name"),
        ([1, 2], "invalid request"),
    ],
)
async def test_invalid_applications_are_400_and_nothing_is_written(
    server: Harness, body: Any, message: str
) -> None:
    response = await server.http.post("/api/v1/applications", headers=server.auth(), json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    listed = await server.kube.list(API_VERSION, "Application", server.namespace)
    assert listed.items == []


async def test_malformed_json_and_huge_bodies(server: Harness) -> None:
    headers = {**server.auth(), "Content-Type": "application/json"}
    bad = await server.http.post("/api/v1/applications", headers=headers, content=b"{oops")
    assert bad.status_code == 400
    huge = await server.http.post(
        "/api/v1/applications", headers=headers, content=b"[" + b"0," * 3_000_000 + b"0]"
    )
    assert huge.status_code == 413


async def test_delete_sets_the_cascade_finalizer(server: Harness) -> None:
    await server.create_app(application("keep-objects"))
    await server.create_app(application("with-objects"))
    await server.kube.patch(
        API_VERSION,
        "Application",
        "keep-objects",
        server.namespace,
        {"metadata": {"finalizers": ["resources-finalizer.argocd.argoproj.io", "other/x"]}},
    )
    response = await server.http.delete(
        "/api/v1/applications/keep-objects?cascade=false", headers=server.auth()
    )
    assert response.status_code == 200
    left = await server.get_app("keep-objects")  # the other finalizer holds it
    assert left["metadata"]["finalizers"] == ["other/x"]
    assert left["metadata"].get("deletionTimestamp")
    await server.http.delete(
        "/api/v1/applications/with-objects?propagationPolicy=background", headers=server.auth()
    )
    held = await server.get_app("with-objects")
    assert held["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io/background"]


async def test_sync_writes_the_operation_and_refuses_a_second(server: Harness) -> None:
    await server.create_app(application("to-sync"))
    response = await server.http.post(
        "/api/v1/applications/to-sync/sync",
        headers=server.auth(),
        json={
            "revision": "abc123",
            "prune": True,
            "resources": [{"kind": "Deployment", "group": "apps", "name": "web"}],
            "syncOptions": {"items": ["ServerSideApply=true"]},
            "strategy": {"apply": {"force": True}},
        },
    )
    assert response.status_code == 200, response.text
    operation = (await server.get_app("to-sync"))["operation"]
    assert operation == {
        "sync": {
            "revision": "abc123",
            "prune": True,
            "syncStrategy": {"apply": {"force": True}},
            "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}],
            "syncOptions": ["ServerSideApply=true"],
        },
        "initiatedBy": {"username": "admin"},
    }
    again = await server.http.post(
        "/api/v1/applications/to-sync/sync", headers=server.auth(), json={}
    )
    assert again.status_code == 412
    assert again.json()["error"] == "another operation is already in progress"
    events = await server.kube.list("v1", "Event", server.namespace)
    audit = [
        (e["reason"], e["message"])
        for e in events.items
        if e["involvedObject"]["name"] == "to-sync"
    ]
    assert audit == [("OperationStarted", "admin initiated sync to abc123 of application to-sync")]


async def test_sync_to_another_revision_is_refused_under_auto_sync(server: Harness) -> None:
    manifest = application("auto")
    manifest["spec"]["syncPolicy"] = {"automated": {"prune": True}}
    await server.create_app(manifest)
    response = await server.http.post(
        "/api/v1/applications/auto/sync", headers=server.auth(), json={"revision": "other"}
    )
    assert response.status_code == 412
    assert "auto-sync currently set to main" in response.json()["error"]


async def test_rollback_and_terminate(server: Harness) -> None:
    await server.create_app(application("hist"))
    history = [
        {
            "id": 3,
            "revision": "1111111",
            "deployedAt": "2026-01-01T00:00:00Z",
            "source": {"repoURL": "https://github.com/example/apps.git", "path": "guestbook"},
        }
    ]
    await server.kube.patch(
        API_VERSION,
        "Application",
        "hist",
        server.namespace,
        {
            "status": {
                "history": history,
                "operationState": {
                    "phase": "Succeeded",
                    "operation": {"sync": {"revision": "2222222"}},
                    "startedAt": "2026-01-02T00:00:00Z",
                },
            }
        },
    )
    missing = await server.http.put(
        "/api/v1/applications/hist/rollback", headers=server.auth(), json={"id": 9}
    )
    assert missing.status_code == 404
    not_running = await server.http.delete(
        "/api/v1/applications/hist/operation", headers=server.auth()
    )
    assert not_running.status_code == 412
    rolled = await server.http.put(
        "/api/v1/applications/hist/rollback", headers=server.auth(), json={"id": 3, "prune": True}
    )
    assert rolled.status_code == 200, rolled.text
    sync = (await server.get_app("hist"))["operation"]["sync"]
    assert sync["revision"] == "1111111"
    assert sync["prune"] is True
    assert sync["source"]["path"] == "guestbook"
    await server.kube.patch(
        API_VERSION,
        "Application",
        "hist",
        server.namespace,
        {"operation": None, "status": {"operationState": {"phase": "Running"}}},
    )
    stopped = await server.http.delete("/api/v1/applications/hist/operation", headers=server.auth())
    assert stopped.status_code == 200
    phase = (await server.get_app("hist"))["status"]["operationState"]["phase"]
    assert phase == "Terminating"


async def test_refresh_sets_the_annotation(server: Harness) -> None:
    await server.create_app(application("fresh"))
    response = await server.http.get(
        "/api/v1/applications/fresh", headers=server.auth(), params={"refresh": "hard"}
    )
    assert response.status_code == 200
    annotations = (await server.get_app("fresh"))["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/refresh"] == "hard"
    bad = await server.http.get(
        "/api/v1/applications/fresh", headers=server.auth(), params={"refresh": "soft"}
    )
    assert bad.status_code == 400


async def test_refresh_answers_once_the_controller_has_refreshed(server: Harness) -> None:
    await server.create_app(application("waited"))
    server.app.state.context.refresh_timeout = 10.0

    async def controller() -> None:
        """Do what the controller does: compare, write status, drop the annotation."""
        async with asyncio.timeout(5):
            while True:
                app = await server.get_app("waited")
                if "argocd.argoproj.io/refresh" in (app["metadata"].get("annotations") or {}):
                    break
                await asyncio.sleep(0.02)
        await server.kube.patch(
            API_VERSION,
            "Application",
            "waited",
            server.namespace,
            {
                "metadata": {"annotations": {"argocd.argoproj.io/refresh": None}},
                "status": {"sync": {"status": "Synced"}},
            },
        )

    task = asyncio.create_task(controller())
    response = await server.http.get(
        "/api/v1/applications/waited", headers=server.auth(), params={"refresh": "normal"}
    )
    await task
    assert response.status_code == 200
    body = response.json()
    assert "argocd.argoproj.io/refresh" not in (body["metadata"].get("annotations") or {})
    assert body["status"]["sync"]["status"] == "Synced"


async def test_resource_tree_follows_owner_references(server: Harness) -> None:
    destination = f"{server.namespace}-tree"
    kube = server.kube
    await kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": destination}})
    deployment = next(yaml.safe_load_all((TESTDATA / "deployment-guestbook.yaml").read_text()))
    deployment["metadata"]["namespace"] = destination
    created = await kube.create(deployment)
    replica_set = await kube.create(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": "guestbook-ui-1",
                "namespace": destination,
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "guestbook-ui",
                        "uid": created["metadata"]["uid"],
                    }
                ],
            },
            "spec": deployment["spec"],
        }
    )
    manifest = application("tree")
    manifest["spec"]["destination"]["namespace"] = destination
    await server.create_app(manifest)
    await kube.patch(
        API_VERSION,
        "Application",
        "tree",
        server.namespace,
        {
            "status": {
                "resources": [
                    {
                        "group": "apps",
                        "version": "v1",
                        "kind": "Deployment",
                        "namespace": destination,
                        "name": "guestbook-ui",
                        "health": {"status": "Healthy"},
                    }
                ]
            }
        },
    )
    response = await server.http.get(
        "/api/v1/applications/tree/resource-tree", headers=server.auth()
    )
    nodes = {n["name"]: n for n in response.json()["nodes"]}
    assert nodes["guestbook-ui"]["health"] == {"status": "Healthy"}
    child = nodes["guestbook-ui-1"]
    assert child["kind"] == "ReplicaSet"
    assert child["parentRefs"][0]["uid"] == created["metadata"]["uid"]
    assert replica_set["metadata"]["uid"] == child["uid"]
    pods = [n for n in nodes.values() if n["kind"] == "Pod"]
    for pod in pods:  # the local cluster's workload simulation may have made pods
        assert pod["parentRefs"][0]["kind"] == "ReplicaSet"


async def test_manifests_and_managed_resources_with_a_manifest_source(
    rendered: tuple[Harness, DirectoryManifests],
) -> None:
    server, source = rendered
    await server.create_app(application("rendered"))
    response = await server.http.get(
        "/api/v1/applications/rendered/manifests", headers=server.auth(), params={"revision": "v1"}
    )
    assert response.status_code == 200, response.text
    manifests = [orjson.loads(m) for m in response.json()["manifests"]]
    assert [m["kind"] for m in manifests] == ["Deployment", "Secret"]
    assert "rendered-secret-value" not in response.text
    assert source.calls == [("rendered", "v1")]
    await server.kube.patch(
        API_VERSION,
        "Application",
        "rendered",
        server.namespace,
        {
            "status": {
                "resources": [
                    {
                        "group": "apps",
                        "version": "v1",
                        "kind": "Deployment",
                        "namespace": "guestbook",
                        "name": "guestbook-ui",
                        "status": "OutOfSync",
                    }
                ]
            }
        },
    )
    managed = await server.http.get(
        "/api/v1/applications/rendered/managed-resources", headers=server.auth()
    )
    (item,) = managed.json()["items"]
    assert item["modified"] is True
    assert orjson.loads(item["targetState"])["spec"]["replicas"] == 1
    assert item["liveState"] is None  # not in the cluster


async def test_manifests_without_a_manifest_source_is_501(server: Harness) -> None:
    await server.create_app(application("plain"))
    response = await server.http.get("/api/v1/applications/plain/manifests", headers=server.auth())
    assert response.status_code == 501
    assert "no manifest source" in response.json()["error"]


async def test_events_of_an_application(server: Harness) -> None:
    await server.http.post(
        "/api/v1/applications", headers=server.auth(), json=application("evented")
    )
    response = await server.http.get("/api/v1/applications/evented/events", headers=server.auth())
    reasons = [e["reason"] for e in response.json()["items"]]
    assert reasons == ["ResourceCreated"]


async def test_unknown_application_is_404_for_admin(server: Harness) -> None:
    response = await server.http.get("/api/v1/applications/ghost", headers=server.auth())
    assert response.status_code == 404
    with pytest.raises(NotFound):
        await server.get_app("ghost")


async def test_chunked_body_over_the_limit_is_413(server: Harness) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"["
        for _ in range(600):
            yield b"0," * 4096
        yield b"0]"

    response = await server.http.post(
        "/api/v1/applications",
        headers={**server.auth(), "Content-Type": "application/json"},
        content=chunks(),
    )
    assert response.status_code == 413
