"""Settings as the server sees them: first-start bootstrap, restarts, background refresh."""

from __future__ import annotations

import asyncio

import pytest
from serverharness import Harness

from tether.server.accounts import bootstrap
from tether.server.store import SettingsStore

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_restart_keeps_the_key_and_the_admin_password(server: Harness) -> None:
    before = await server.kube.get("v1", "Secret", "argocd-secret", server.namespace)
    store = SettingsStore(server.kube, server.namespace, monotonic=lambda: 0.0)
    await bootstrap(store, server.clock)
    after = await server.kube.get("v1", "Secret", "argocd-secret", server.namespace)
    assert after["data"] == before["data"]
    assert await server.login("admin", server.admin_password)


async def test_stale_settings_are_served_while_they_refresh(server: Harness) -> None:
    now = [0.0]
    store = SettingsStore(server.kube, server.namespace, monotonic=lambda: now[0], ttl=1.0)
    first = await store.snapshot()
    assert "url" not in first.settings
    await server.put_config("argocd-cm", {"url": "https://cd.example.com"})
    now[0] = 5.0  # past the ttl: the next read answers at once with the old copy ...
    assert (await store.snapshot()) is first
    async with asyncio.timeout(5):  # ... and the background refresh brings the change
        while (await store.snapshot()).settings.get("url") != "https://cd.example.com":  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_concurrent_secret_writers_lose_nothing(server: Harness) -> None:
    store = SettingsStore(server.kube, server.namespace, monotonic=lambda: 0.0)

    async def write(index: int) -> None:
        await store.update_secret(lambda _: {f"test.key{index}": str(index)})

    await asyncio.gather(*(write(i) for i in range(4)))
    store.invalidate()
    secret = (await store.snapshot()).secret
    assert {f"test.key{i}" for i in range(4)} <= set(secret)
