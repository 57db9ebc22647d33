"""Watches over HTTP: initial events and bookmarks, name selectors, 410 as an ERROR event."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tether.localcluster.api import APIApp
from tether.localcluster.discovery import Discovery
from tether.localcluster.handlers import Handlers
from tether.localcluster.server import Cluster

from .conftest import RunningCluster, start_cluster

CMS = "/api/v1/namespaces/default/configmaps"


def client_for(cluster: RunningCluster) -> httpx.Client:
    return httpx.Client(
        base_url=cluster.base_url,
        verify=ssl.create_default_context(cafile=str(cluster.ca_path)),
        headers=cluster.headers(),
        timeout=10,
    )


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


def events(lines: Iterator[str], count: int) -> list[dict[str, Any]]:
    return [json.loads(next(lines)) for _ in range(count)]


@pytest.fixture
def small_window(tmp_path: Path) -> Iterator[RunningCluster]:
    cluster = start_cluster(tmp_path / "cluster", args=("--event-window", "16"))
    try:
        yield cluster
    finally:
        cluster.stop()


def test_compacted_resource_version_is_an_error_event(small_window: RunningCluster) -> None:
    with client_for(small_window) as client:
        first = client.post(CMS, json=configmap("first")).json()
        for index in range(40):
            assert client.post(CMS, json=configmap(f"c{index}")).status_code == 201
        rv = first["metadata"]["resourceVersion"]
        with client.stream("GET", CMS, params={"watch": "1", "resourceVersion": rv}) as watch:
            assert watch.status_code == 200
            [error] = events(watch.iter_lines(), 1)
    assert error["type"] == "ERROR"
    status = error["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"].startswith(f"too old resource version: {rv} (")


def test_initial_events_end_with_a_bookmark(local_cluster_session: RunningCluster) -> None:
    with client_for(local_cluster_session) as client:
        client.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "watch-initial"}},
        )
        path = "/api/v1/namespaces/watch-initial/configmaps"
        for name in ("a", "b"):
            assert client.post(path, json=configmap(name)).status_code == 201
        params = {
            "watch": "1",
            "sendInitialEvents": "true",
            "allowWatchBookmarks": "true",
            "resourceVersionMatch": "NotOlderThan",
            "resourceVersion": "",
        }
        with client.stream("GET", path, params=params) as watch:
            lines = watch.iter_lines()
            added_a, added_b, bookmark = events(lines, 3)
            client.post(path, json=configmap("c"))
            [added_c] = events(lines, 1)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in (added_a, added_b)] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
    ]
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert (added_c["type"], added_c["object"]["metadata"]["name"]) == ("ADDED", "c")
    assert int(added_c["object"]["metadata"]["resourceVersion"]) > int(
        bookmark["object"]["metadata"]["resourceVersion"]
    )


def test_watch_by_name_sees_only_that_object(local_cluster_session: RunningCluster) -> None:
    with client_for(local_cluster_session) as client:
        client.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "watch-name"}},
        )
        path = "/api/v1/namespaces/watch-name/configmaps"
        listed = client.get(path).json()["metadata"]["resourceVersion"]
        params = {
            "watch": "true",
            "fieldSelector": "metadata.name=wanted",
            "resourceVersion": listed,
        }
        with client.stream("GET", path, params=params) as watch:
            client.post(path, json=configmap("other"))
            client.post(path, json=configmap("wanted"))
            client.delete(path + "/wanted")
            seen = events(watch.iter_lines(), 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in seen] == [
        ("ADDED", "wanted"),
        ("DELETED", "wanted"),
    ]


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` for up to five seconds."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met within 5 s")


async def test_watch_ends_when_the_client_goes_away(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    await cluster.start()
    app = APIApp(
        Handlers(cluster.store, cluster.registry, cluster.schemas, cluster.applier.apply),
        Discovery(cluster.registry),
        "token",
        lambda: "127.0.0.1",
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}{CMS}"
    server = uvicorn.Server(uvicorn.Config(app, loop="none", lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await until(lambda: server.started)
        async with (
            httpx.AsyncClient(headers={"Authorization": "Bearer token"}) as client,
            client.stream("GET", url, params={"watch": "1"}) as watch,
        ):
            assert watch.status_code == 200
            assert cluster.store.open_watches() == 1
        await until(lambda: cluster.store.open_watches() == 0)
    finally:
        server.should_exit = True
        await serving
        await cluster.close()
        sock.close()
