"""Bad-input suite fixtures: a local cluster, a loopback Git server, an in-process controller.

The controller harness follows ``tests/controller/conftest.py`` (copied, not imported: a
conftest is its folder's own). The server harness is the shared module
``tests/server/serverharness.py``; the Git servers come from ``tests/source/gitfixtures.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parents[1] / "source"))
sys.path.insert(0, str(Path(__file__).parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).parent))

from gitfixtures import git_server_session  # noqa: F401
from gitserver import GitServer, RemoteRepo
from serverharness import Harness as ServerHarness
from serverharness import running_server

from tether.controller import ApplicationController, install
from tether.kube import KubeClient, NotFound, load_kubeconfig
from tether.source import GitCache

#: The control namespace of this suite's controller: its own, so that no other suite's
#: controller on the session's cluster reconciles these Applications, nor this one theirs.
NAMESPACE = "badinput"
_names = itertools.count()


@dataclass
class Controlled:
    """A management cluster with tether installed, a Git server and a running controller."""

    client: KubeClient
    git: GitServer
    controller: ApplicationController
    namespace: str = NAMESPACE

    def new_name(self) -> str:
        """A name no other test of the session uses."""
        return f"bad-{next(_names)}"

    def new_repo(self) -> RemoteRepo:
        """A repository of one test's own.

        Repositories are not shared between cases: a symlink leaving the checkout anywhere
        in a repository fails every Application of that repository, as in Argo CD.
        """
        return self.git.create_repo()

    async def app(self, name: str) -> dict[str, Any]:
        """The Application ``name`` as the cluster holds it."""
        return await self.client.get("argoproj.io/v1alpha1", "Application", name, NAMESPACE)

    async def refresh(self, name: str) -> None:
        """Ask for a normal refresh, as ``argocd app get --refresh`` does."""
        await self.client.patch(
            "argoproj.io/v1alpha1",
            "Application",
            name,
            NAMESPACE,
            {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
        )

    async def wait_app(
        self, name: str, predicate: Callable[[dict[str, Any]], bool], seconds: float = 20
    ) -> dict[str, Any]:
        """Wait (bounded) until the Application satisfies ``predicate``; return it."""
        last: dict[str, Any] = {}
        try:
            async with asyncio.timeout(seconds):
                while True:
                    try:
                        last = await self.app(name)
                    except NotFound:
                        last = {}
                    if last and predicate(last):
                        return last
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(
                f"application {name} never matched; last status: {last.get('status')}"
            ) from None

    async def objects_in(self, namespace: str, kind: str = "ConfigMap") -> set[str]:
        """Names of the ``kind`` objects in ``namespace`` (``kube-root-ca.crt`` left out)."""
        found = await self.client.list("v1", kind, namespace)
        return {o["metadata"]["name"] for o in found.items} - {"kube-root-ca.crt"}


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def kube(local_cluster_session: Any) -> AsyncIterator[KubeClient]:
    """A client of the session's local cluster."""
    client = KubeClient(load_kubeconfig(local_cluster_session.kubeconfig))
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def controlled(
    kube: KubeClient,
    git_server_session: GitServer,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Controlled]:
    """The session's cluster with tether installed in :data:`NAMESPACE`, a repository and a
    controller; each test works in Applications and namespaces of its own."""
    async with asyncio.timeout(30):
        await install(kube, NAMESPACE)
    controller = ApplicationController(
        kube,
        GitCache(tmp_path_factory.mktemp("badinput-git")),
        namespace=NAMESPACE,
        poll_interval=0.05,
    )
    async with asyncio.timeout(30):
        await controller.start()
    try:
        yield Controlled(kube, git_server_session, controller)
    finally:
        await controller.close()


@pytest_asyncio.fixture(loop_scope="session")
async def server(kube: KubeClient) -> AsyncIterator[ServerHarness]:
    """A fresh API server (its own control namespace) for one test, logged in as admin."""
    async with running_server(kube) as harness:
        yield harness
