"""The server test harness: the ASGI app against the shared local cluster, driven by httpx.

Each harness gets its own control namespace in the session's local cluster, so tests
do not see each other's Applications, accounts or settings. The clock is a
:class:`ManualClock`, moved by tests that need tokens to expire.
"""

from __future__ import annotations

import base64
import itertools
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI

from tether.controller import install
from tether.kube import KubeClient
from tether.model import API_VERSION
from tether.server.app import create_app
from tether.server.interfaces import ManifestSource

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "server"
_namespaces = itertools.count()


class ManualClock:
    """A wall clock that moves only when told."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def load_fixture(name: str) -> Any:
    """A YAML or JSON fixture of ``testdata/server``."""
    return yaml.safe_load((TESTDATA / name).read_text())


def application(
    name: str,
    *,
    project: str = "default",
    repo: str = "https://github.com/example/apps.git",
    revision: str = "main",
    path: str = "guestbook",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    namespace: str = "",
) -> dict[str, Any]:
    """An Application manifest."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": metadata,
        "spec": {
            "project": project,
            "source": {"repoURL": repo, "targetRevision": revision, "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
        },
    }


@dataclass
class Harness:
    """A server app on its own control namespace, a client for it, and the admin's token."""

    kube: KubeClient
    app: FastAPI
    http: httpx.AsyncClient
    namespace: str
    clock: ManualClock
    admin_password: str
    admin_token: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, token: str | None = None) -> dict[str, str]:
        """Bearer headers for ``token`` (the admin's by default)."""
        return {"Authorization": f"Bearer {token or self.admin_token}"}

    async def login(self, username: str, password: str) -> str:
        response = await self.http.post(
            "/api/v1/session", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        # The response also sets the session cookie; tests send tokens explicitly.
        self.http.cookies.clear()
        return str(response.json()["token"])

    async def put_config(self, name: str, data: Mapping[str, str]) -> None:
        """Create or replace a ConfigMap in the control namespace (settings are re-read)."""
        await self.kube.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": self.namespace},
                "data": dict(data),
            }
        )
        self.app.state.context.store.invalidate()

    async def put_secret_keys(self, data: Mapping[str, str]) -> None:
        """Add keys to ``argocd-secret``."""
        await self.kube.patch(
            "v1",
            "Secret",
            "argocd-secret",
            self.namespace,
            {"data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}},
        )
        self.app.state.context.store.invalidate()

    async def create_app(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create an Application directly in the cluster (bypassing the API)."""
        manifest = {**manifest, "metadata": {**manifest["metadata"], "namespace": self.namespace}}
        created = await self.kube.create(manifest)
        self.app.state.context.apps.observe(created)
        return created

    async def get_app(self, name: str) -> dict[str, Any]:
        return await self.kube.get(API_VERSION, "Application", name, self.namespace)


@asynccontextmanager
async def running_server(
    kube: KubeClient,
    *,
    manifests: ManifestSource | None = None,
    on_push: Any = None,
    registry: Any = None,
) -> AsyncIterator[Harness]:
    """A server app on a fresh control namespace, started (lifespan) and logged in as admin."""
    namespace = f"srv-{os.getpid()}-{next(_namespaces)}"
    await install(kube, namespace)
    clock = ManualClock()
    app = create_app(
        kube,
        namespace,
        clock,
        manifests=manifests,
        on_push=on_push,
        registry=registry,
        settings_ttl=60.0,
        refresh_timeout=0.2,  # no controller runs here: do not wait for one
    )
    async with app.router.lifespan_context(app):
        secret = await kube.get("v1", "Secret", "argocd-initial-admin-secret", namespace)
        password = base64.b64decode(secret["data"]["password"]).decode()
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://tether") as http:
            harness = Harness(kube, app, http, namespace, clock, password)
            harness.admin_token = await harness.login("admin", password)
            yield harness
