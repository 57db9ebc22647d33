"""The controller harness: a management cluster, a Git repository, a controller in-process.

Shared by every suite that drives a controller (``tests/controller``, ``tests/faults``): a
suite's conftest puts this folder on ``sys.path`` and imports the fixtures
:func:`management` and :func:`harness` (a conftest is its folder's own, so the fixtures
live here rather than in one).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from gitserver import RemoteRepo

from tether.controller import ApplicationController, install
from tether.kube import KubeClient, NotFound, load_kubeconfig
from tether.source import GitCache

NAMESPACE = "argocd"
_apps = itertools.count()


@dataclass
class MovableClock:
    """The controller's clock: real time plus an offset a test moves forward."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set(self, moment: datetime) -> None:
        """From now on, the time reads ``moment`` (and runs on from there)."""
        self.offset = moment - datetime.now(UTC)


@dataclass
class Harness:
    """The pieces of a controller test, and helpers to wait on them."""

    client: KubeClient
    repo: RemoteRepo
    clock: MovableClock
    #: The in-process controller (``None`` for tests that run controllers as processes).
    controller: ApplicationController | None = None
    namespace: str = NAMESPACE

    @staticmethod
    def sync_status(app: dict[str, Any]) -> str:
        return str(((app.get("status") or {}).get("sync") or {}).get("status", ""))

    @staticmethod
    def health_status(app: dict[str, Any]) -> str:
        return str(((app.get("status") or {}).get("health") or {}).get("status", ""))

    def synced_and_healthy(self, app: dict[str, Any]) -> bool:
        return self.sync_status(app) == "Synced" and self.health_status(app) == "Healthy"

    def settled(self, app: dict[str, Any]) -> bool:
        """Synced, Healthy, and no operation requested or unfinished.

        A refresh can report Synced while the sync that caused it is still recording
        its result; tests that read the result wait for this.
        """
        phase = ((app.get("status") or {}).get("operationState") or {}).get("phase")
        return (
            self.synced_and_healthy(app) and "operation" not in app and phase in (None, "Succeeded")
        )

    async def refresh(self, name: str) -> None:
        """Ask for a normal refresh, as ``argocd app get --refresh`` does."""
        await self.client.patch(
            "argoproj.io/v1alpha1",
            "Application",
            name,
            self.namespace,
            {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
        )

    async def app(self, name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
        return await self.client.get("argoproj.io/v1alpha1", "Application", name, namespace)

    async def wait_app(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        seconds: float = 30,
        namespace: str = NAMESPACE,
    ) -> dict[str, Any]:
        """Wait (bounded) until the Application satisfies ``predicate``."""
        last: dict[str, Any] = {}
        try:
            async with asyncio.timeout(seconds):
                while True:
                    try:
                        last = await self.app(name, namespace)
                    except NotFound:
                        last = {}
                    if last and predicate(last):
                        return last
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(
                f"application {name} never matched; last: {last.get('status')}"
            ) from None

    async def wait_object(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        predicate: Callable[[dict[str, Any] | None], bool],
        seconds: float = 30,
    ) -> dict[str, Any] | None:
        """Wait (bounded) until the live object (``None`` when absent) satisfies ``predicate``."""
        found: dict[str, Any] | None = None
        try:
            async with asyncio.timeout(seconds):
                while True:
                    try:
                        found = await self.client.get(api_version, kind, name, namespace)
                    except NotFound:
                        found = None
                    if predicate(found):
                        return found
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(
                f"{kind} {namespace}/{name} never matched; last: {found}"
            ) from None

    def new_app_name(self) -> str:
        return f"app-{next(_apps)}"


@pytest.fixture
async def management(
    local_cluster: Any,
    git_repo: RemoteRepo,
) -> AsyncIterator[Harness]:
    """A management cluster with tether installed and a Git repository, no controller."""
    async with KubeClient(load_kubeconfig(local_cluster.kubeconfig)) as client:
        async with asyncio.timeout(30):
            await install(client, NAMESPACE)
        yield Harness(client, git_repo, MovableClock())


@pytest.fixture
async def harness(management: Harness, tmp_path: Path) -> AsyncIterator[Harness]:
    """:func:`management` plus a controller running in-process on the harness clock."""
    controller = ApplicationController(
        management.client,
        GitCache(tmp_path / "git"),
        namespace=NAMESPACE,
        poll_interval=0.05,
        clock=management.clock,
        application_namespaces=("team-*",),
    )
    async with asyncio.timeout(30):
        await controller.start()
    management.controller = controller
    try:
        yield management
    finally:
        await controller.close()
