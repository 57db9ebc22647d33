"""Every acknowledged write survives ``kill -9``; resourceVersions and watches carry on."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import httpx

from .conftest import RunningCluster, start_cluster

WRITERS = 8
OBJECTS = 1000
KILL_AFTER = 400
CMS = "/api/v1/namespaces/default/configmaps"


def client_for(cluster: RunningCluster) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=cluster.base_url,
        verify=ssl.create_default_context(cafile=str(cluster.ca_path)),
        headers=cluster.headers(),
        timeout=10,
    )


async def write_until_killed(cluster: RunningCluster) -> dict[str, int]:
    """Create up to OBJECTS config maps from WRITERS clients; kill -9 mid-stream."""
    acknowledged: dict[str, int] = {}
    names = iter(range(OBJECTS))
    killed = asyncio.Event()

    async def writer(client: httpx.AsyncClient) -> None:
        for index in names:
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{index}"},
                "data": {"i": str(index)},
            }
            try:
                response = await client.post(CMS, json=body)
            except httpx.HTTPError:
                return  # the server is gone: this write was never acknowledged
            assert response.status_code == 201, response.text
            acknowledged[f"cm-{index}"] = int(response.json()["metadata"]["resourceVersion"])
            if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                killed.set()
                cluster.kill()

    async with client_for(cluster) as client:
        await asyncio.gather(*(writer(client) for _ in range(WRITERS)))
    assert killed.is_set(), "the server was never killed"
    return acknowledged


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "cluster"
    first = start_cluster(data_dir)
    acknowledged = await write_until_killed(first)
    assert len(acknowledged) >= KILL_AFTER
    last_acknowledged = max(acknowledged.values())

    second = start_cluster(data_dir)
    try:
        async with client_for(second) as client:
            listed = (await client.get(CMS)).json()
            stored = {
                i["metadata"]["name"]: int(i["metadata"]["resourceVersion"])
                for i in listed["items"]
            }
            missing = set(acknowledged) - set(stored)
            assert not missing, f"{len(missing)} acknowledged writes lost"
            assert all(stored[name] == rv for name, rv in acknowledged.items())
            assert int(listed["metadata"]["resourceVersion"]) >= last_acknowledged

            async with client.stream(
                "GET", CMS, params={"watch": "1", "resourceVersion": str(last_acknowledged)}
            ) as watch:
                created = await client.post(
                    CMS,
                    json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}},
                )
                assert created.status_code == 201
                after_rv = int(created.json()["metadata"]["resourceVersion"])
                assert after_rv > last_acknowledged
                async with asyncio.timeout(10):
                    async for line in watch.aiter_lines():
                        event = json.loads(line)
                        assert (
                            int(event["object"]["metadata"]["resourceVersion"]) > last_acknowledged
                        )
                        if event["object"]["metadata"]["name"] == "after":
                            assert event["type"] == "ADDED"
                            break
    finally:
        assert second.stop() == 0
