"""Fixtures that run a real local cluster: ``tether local-cluster serve --port 0``.

Other suites reuse them: ``local_cluster`` (one server per test, for tests that kill
or restart it) and ``local_cluster_session`` (one server for the whole session; tests
isolate themselves with their own namespace). Each yields a
:class:`~tether.localcluster.launcher.LocalClusterProcess` with the kubeconfig path,
base URL, bearer token and CA path.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.localcluster.launcher import LocalClusterProcess

TETHER = Path(sys.executable).with_name("tether")

#: What the fixtures yield: the server process and how to reach it.
RunningCluster = LocalClusterProcess


def start_cluster(data_dir: Path, *, port: int = 0, args: tuple[str, ...] = ()) -> RunningCluster:
    """Start a server on ``data_dir`` (extra ``serve`` options in ``args``) and wait for it."""
    return LocalClusterProcess(data_dir, port=port, extra_args=args).start()


@pytest.fixture
def local_cluster(tmp_path: Path) -> Iterator[RunningCluster]:
    """A fresh local cluster for one test."""
    cluster = start_cluster(tmp_path / "cluster")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def local_cluster_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    """One local cluster shared by the session; isolate tests by namespace."""
    cluster = start_cluster(tmp_path_factory.mktemp("local-cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()
