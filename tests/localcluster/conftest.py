"""Fixtures that run a real local cluster: ``tether local-cluster serve --port 0``.

Other suites reuse them: ``local_cluster`` (one server per test, for tests that kill
or restart it) and ``local_cluster_session`` (one server for the whole session; tests
isolate themselves with their own namespace). Each yields a :class:`RunningCluster`
with the kubeconfig path, base URL, bearer token and CA path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TETHER = Path(sys.executable).with_name("tether")
READY_LINE = "tether local cluster ready at"
START_TIMEOUT = 30.0


@dataclass
class RunningCluster:
    """A ``tether local-cluster serve`` process and how to reach it."""

    data_dir: Path
    kubeconfig: Path
    base_url: str
    token: str
    ca_path: Path
    process: subprocess.Popen[str]

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def kill(self) -> None:
        """``kill -9``: no shutdown, no flush."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait for the clean shutdown; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start_cluster(data_dir: Path, *, port: int = 0, args: tuple[str, ...] = ()) -> RunningCluster:
    """Start a server on ``data_dir`` and wait (bounded) for its ready line."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "server.log").open("a")
    process = subprocess.Popen(
        [
            str(TETHER),
            "local-cluster",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    line = ""
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        chunk = process.stdout.readline()
        if chunk:
            line += chunk
            if READY_LINE in line:
                break
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.02)
    if READY_LINE not in line:
        process.kill()
        process.wait(timeout=10)
        log.close()
        raise RuntimeError(
            f"local cluster did not start: {line!r} {(data_dir / 'server.log').read_text()}"
        )
    url = line.split(READY_LINE, 1)[1].split()[0]
    log.close()
    return RunningCluster(
        data_dir=data_dir,
        kubeconfig=data_dir / "kubeconfig",
        base_url=url,
        token=(data_dir / "token").read_text().strip(),
        ca_path=data_dir / "ca.crt",
        process=process,
    )


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
