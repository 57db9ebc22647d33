"""ApplicationSet tests: real Git servers on loopback, the local cluster, local folders."""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "source"))
sys.path.insert(0, str(Path(__file__).parent))

from gitfixtures import git_repo, git_server, git_server_session  # noqa: F401

from tether.controller.appsets.sources import GitRepositories
from tether.controller.install import install
from tether.kube import KubeClient, load_kubeconfig
from tether.source import GitCache

_namespaces = itertools.count()


@pytest.fixture
def git_repos(tmp_path: Path) -> GitRepositories:
    return GitRepositories(GitCache(tmp_path / "git-cache", fetch_timeout=5.0))


@pytest.fixture
async def client(local_cluster_session: Any) -> AsyncIterator[KubeClient]:
    async with KubeClient(load_kubeconfig(local_cluster_session.kubeconfig)) as kube:
        yield kube


@pytest.fixture
async def namespace(client: KubeClient) -> str:
    name = f"appsets-{next(_namespaces)}-{datetime.now(UTC).strftime('%H%M%S%f')}"
    async with asyncio.timeout(30):
        await install(client, name)
    return name
