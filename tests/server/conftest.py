"""Server test fixtures: a cluster client for the session, a fresh server per test."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parent))

from serverharness import TESTDATA, Harness, running_server

from tether.kube import KubeClient, load_kubeconfig


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def kube(local_cluster_session: Any) -> AsyncIterator[KubeClient]:
    """A client of the session's local cluster, with tether's CRDs installed."""
    client = KubeClient(load_kubeconfig(local_cluster_session.kubeconfig))
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture(loop_scope="session")
async def server(kube: KubeClient) -> AsyncIterator[Harness]:
    """A fresh server for one test."""
    async with running_server(kube) as harness:
        yield harness


@pytest.fixture
def fixtures_dir() -> Path:
    """``testdata/server``."""
    return TESTDATA
