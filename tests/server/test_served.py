"""End to end over real HTTP: the app served by uvicorn on 127.0.0.1.

Covers what an in-memory transport cannot: the Server-Sent Events stream (it never
ends by itself), cookies through a real client, and the OpenAPI document as served.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
import uvicorn
from serverharness import Harness, application, running_server

from tether.kube import KubeClient

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def served(kube: KubeClient) -> AsyncIterator[tuple[Harness, str]]:
    async with running_server(kube) as harness:
        harness.app.state.context.sse_heartbeat = 0.2
        # The harness already ran the lifespan (bootstrap, cache): uvicorn only serves.
        config = uvicorn.Config(
            harness.app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
                await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield harness, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)


async def _events(lines: AsyncIterator[str], count: int) -> list[dict[str, Any]]:
    """The next ``count`` data events of a stream (keep-alive comments skipped)."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        async for line in lines:
            if line.startswith("data: "):
                events.append(orjson.loads(line.removeprefix("data: "))["result"])
                if len(events) == count:
                    return events
    return events


async def test_stream_sends_current_apps_then_changes(served: tuple[Harness, str]) -> None:
    h, url = served
    await h.create_app(application("streamed", labels={"team": "a"}))
    await h.create_app(application("filtered-out", labels={"team": "b"}))
    async with (
        httpx.AsyncClient(base_url=url, timeout=10) as http,
        http.stream(
            "GET",
            "/api/v1/stream/applications",
            headers=h.auth(),
            params={"selector": "team=a"},
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        (first,) = await _events(lines, 1)
        assert first["type"] == "ADDED"
        assert first["application"]["metadata"]["name"] == "streamed"
        await h.http.get(
            "/api/v1/applications/streamed", headers=h.auth(), params={"refresh": "normal"}
        )
        await h.http.get(
            "/api/v1/applications/filtered-out", headers=h.auth(), params={"refresh": "normal"}
        )
        (change,) = await _events(lines, 1)
        assert change["type"] == "MODIFIED"
        assert change["application"]["metadata"]["name"] == "streamed"
        annotations = change["application"]["metadata"]["annotations"]
        assert annotations["argocd.argoproj.io/refresh"] == "normal"


async def test_stream_needs_a_token(served: tuple[Harness, str]) -> None:
    _, url = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.get("/api/v1/stream/applications")
        assert response.status_code == 401


async def test_login_cookie_and_list_over_http(served: tuple[Harness, str]) -> None:
    h, url = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        login = await http.post(
            "/api/v1/session", json={"username": "admin", "password": h.admin_password}
        )
        assert login.status_code == 200
        assert "argocd.token" in http.cookies  # the browser keeps it
        listed = await http.get("/api/v1/applications")
        assert listed.status_code == 200
        forged = await http.delete("/api/v1/applications/streamed")
        assert forged.status_code == 403
        logout = await http.delete(
            "/api/v1/session", headers={"X-Requested-With": "XMLHttpRequest"}
        )
        assert logout.status_code == 200


async def test_openapi_is_local_and_docs_pages_are_off(served: tuple[Harness, str]) -> None:
    _, url = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        document = await http.get("/api/openapi.json")
        assert document.status_code == 200
        paths = document.json()["paths"]
        assert "/api/v1/applications/{name}/sync" in paths
        assert "/api/webhook" in paths
        for page in ("/docs", "/redoc"):
            assert (await http.get(page)).status_code == 404
        assert "cdn" not in document.text.lower()
