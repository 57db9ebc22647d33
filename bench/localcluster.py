"""Benchmark of the local cluster over real HTTPS, as clients see it.

Measures, against ``tether local-cluster serve`` started in a temporary directory:

- creates/s: ConfigMap creates from 8 concurrent clients (durable: each acknowledged
  after its group commit is fsynced);
- server-side applies/s: Deployment applies (create, then change) from 8 concurrent
  clients;
- list of 10,000 ConfigMaps: one GET of the whole collection (median of 5);
- watch latency: from sending a write to receiving its watch event (p50, p99);
- ``kubectl apply --server-side`` of 500 objects in one invocation, and its cost per
  object (the peer a user would compare with).

Writes go through :class:`Connection`, a minimal keep-alive HTTP/1.1 client over one
TLS connection per simulated client: the server and the load generator share the same
two cores here, and a general-purpose Python HTTP client spends several times more CPU
per request than the server does, which would measure the client. (The Go clients that
talk to a real cluster, kubectl among them, are cheaper still.)

Prints a table and writes ``bench/results/localcluster.json``. Run:
``.venv/bin/python -m bench.localcluster``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tether.localcluster.server import READY_LINE
from tether.tools import find_tool

RESULTS = Path(__file__).resolve().parent / "results" / "localcluster.json"
CLIENTS = 8
CREATES = 2000
APPLIES = 2000
LIST_SIZE = 10_000
WATCH_EVENTS = 300
KUBECTL_OBJECTS = 500
TARGETS = {"ssa_per_s": 500.0, "list_10k_s": 0.5, "watch_p50_ms": 10.0}


class Server:
    """A ``tether local-cluster serve`` subprocess."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        tether = Path(sys.executable).with_name("tether")
        self.process = subprocess.Popen(
            # The API server alone: the workload simulation would turn each applied
            # Deployment into ReplicaSets and Pods (bench/simulation.py measures that).
            [
                str(tether),
                "local-cluster",
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                "0",
                "--no-simulation",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if READY_LINE not in line:
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r}")
        self.url = line.split(READY_LINE, 1)[1].split()[0]
        self.token = (data_dir / "token").read_text().strip()
        self.kubeconfig = data_dir / "kubeconfig"

    async def connect(self) -> Connection:
        host, port = self.url.removeprefix("https://").rsplit(":", 1)
        context = ssl.create_default_context(cafile=str(self.data_dir / "ca.crt"))
        reader, writer = await asyncio.open_connection(host, int(port), ssl=context)
        return Connection(reader, writer, self.token)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            verify=ssl.create_default_context(cafile=str(self.data_dir / "ca.crt")),
            timeout=60,
            limits=httpx.Limits(max_connections=CLIENTS * 2),
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class Connection:
    """One keep-alive HTTP/1.1 connection; requests on it are sequential."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._auth = f"Authorization: Bearer {token}\r\n".encode()

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
        ).encode()
        self._writer.write(head + self._auth + b"\r\n" + body)
        status = int((await self._reader.readline()).split()[1])
        length = 0
        while (line := await self._reader.readline()) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


async def concurrently(
    server: Server, count: int, work: Callable[[Connection, int], Awaitable[None]]
) -> float:
    """Run ``work(connection, i)`` for ``i < count`` on CLIENTS connections; ops/s."""
    items = iter(range(count))
    connections = [await server.connect() for _ in range(CLIENTS)]

    async def worker(connection: Connection) -> None:
        for index in items:
            await work(connection, index)

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - start
    for connection in connections:
        await connection.close()
    return count / elapsed


def configmap(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"key": name, "mode": "bench"},
    }


def deployment(name: str, image: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "app", "image": image, "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    }


async def ensure_namespace(server: Server, name: str) -> None:
    connection = await server.connect()
    status, body = await connection.request(
        "POST",
        "/api/v1/namespaces",
        json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}).encode(),
    )
    await connection.close()
    assert status in (201, 409), body


async def bench_creates(server: Server) -> float:
    await ensure_namespace(server, "creates")

    async def create(connection: Connection, index: int) -> None:
        status, body = await connection.request(
            "POST",
            "/api/v1/namespaces/creates/configmaps",
            json.dumps(configmap(f"cm-{index}")).encode(),
        )
        assert status == 201, body

    return await concurrently(server, CREATES, create)


async def bench_applies(server: Server) -> float:
    await ensure_namespace(server, "applies")
    distinct = APPLIES // 2

    async def apply(connection: Connection, index: int) -> None:
        name = f"app-{index % distinct}"
        status, body = await connection.request(
            "PATCH",
            f"/apis/apps/v1/namespaces/applies/deployments/{name}?fieldManager=bench&force=true",
            json.dumps(deployment(name, f"nginx:1.{index // distinct}")).encode(),
            "application/apply-patch+yaml",
        )
        assert status in (200, 201), body

    return await concurrently(server, APPLIES, apply)


async def bench_list(server: Server) -> tuple[float, int]:
    await ensure_namespace(server, "listing")

    async def create(connection: Connection, index: int) -> None:
        status, body = await connection.request(
            "POST",
            "/api/v1/namespaces/listing/configmaps",
            json.dumps(configmap(f"cm-{index:05d}")).encode(),
        )
        assert status == 201, body

    await concurrently(server, LIST_SIZE, create)
    connection = await server.connect()
    timings = []
    body = b""
    for _ in range(5):
        start = time.perf_counter()
        status, body = await connection.request("GET", "/api/v1/namespaces/listing/configmaps")
        timings.append(time.perf_counter() - start)
        assert status == 200
    await connection.close()
    items = len(json.loads(body)["items"])
    assert items == LIST_SIZE, items
    return statistics.median(timings), len(body)


async def bench_watch(server: Server) -> tuple[float, float]:
    await ensure_namespace(server, "watching")
    writer = await server.connect()
    async with server.client() as watcher:
        sent: dict[str, float] = {}
        latencies: list[float] = []
        async with watcher.stream(
            "GET", "/api/v1/namespaces/watching/configmaps", params={"watch": "1"}
        ) as stream:
            lines = stream.aiter_lines()

            async def receive() -> None:
                async for line in lines:
                    name = json.loads(line)["object"]["metadata"]["name"]
                    latencies.append(time.perf_counter() - sent[name])
                    if len(latencies) == WATCH_EVENTS:
                        return

            receiver = asyncio.create_task(receive())
            for index in range(WATCH_EVENTS):
                name = f"w-{index}"
                sent[name] = time.perf_counter()
                status, _ = await writer.request(
                    "POST",
                    "/api/v1/namespaces/watching/configmaps",
                    json.dumps(configmap(name)).encode(),
                )
                assert status == 201
            await asyncio.wait_for(receiver, 30)
    await writer.close()
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def bench_kubectl(server: Server, workdir: Path) -> float:
    manifest = workdir / "kubectl-objects.yaml"
    docs = [
        {**configmap(f"k-{i}"), "metadata": {"name": f"k-{i}", "namespace": "default"}}
        for i in range(KUBECTL_OBJECTS)
    ]
    manifest.write_text(yaml.safe_dump_all(docs))
    start = time.perf_counter()
    subprocess.run(
        [
            str(find_tool("kubectl")),
            "--kubeconfig",
            str(server.kubeconfig),
            "apply",
            "--server-side",
            "-f",
            str(manifest),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return time.perf_counter() - start


async def run(workdir: Path) -> dict[str, Any]:
    server = Server(workdir / "cluster")
    try:
        creates = await bench_creates(server)
        applies = await bench_applies(server)
        list_seconds, list_bytes = await bench_list(server)
        watch_p50, watch_p99 = await bench_watch(server)
        kubectl_seconds = bench_kubectl(server, workdir)
    finally:
        server.stop()
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "clients": CLIENTS,
        "creates_per_s": round(creates, 1),
        "ssa_per_s": round(applies, 1),
        "list_10k_s": round(list_seconds, 4),
        "list_10k_bytes": list_bytes,
        "watch_p50_ms": round(watch_p50, 2),
        "watch_p99_ms": round(watch_p99, 2),
        "kubectl_ssa_500_s": round(kubectl_seconds, 2),
        "kubectl_ssa_ms_per_object": round(kubectl_seconds / KUBECTL_OBJECTS * 1000, 2),
        "targets": TARGETS,
    }


def print_table(results: dict[str, Any]) -> None:
    rows = [
        ("creates/s (8 clients, durable)", f"{results['creates_per_s']:.0f}", ""),
        (
            "server-side applies/s (8 clients)",
            f"{results['ssa_per_s']:.0f}",
            f">= {TARGETS['ssa_per_s']:.0f}",
        ),
        (
            "list 10,000 ConfigMaps (s)",
            f"{results['list_10k_s']:.3f}",
            f"< {TARGETS['list_10k_s']}",
        ),
        (
            "watch latency p50 (ms)",
            f"{results['watch_p50_ms']:.2f}",
            f"< {TARGETS['watch_p50_ms']:.0f}",
        ),
        ("watch latency p99 (ms)", f"{results['watch_p99_ms']:.2f}", ""),
        ("kubectl apply --server-side, 500 objects (s)", f"{results['kubectl_ssa_500_s']:.2f}", ""),
        ("  per object (ms)", f"{results['kubectl_ssa_ms_per_object']:.2f}", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'result':>10}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>10}  {target}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as tmp:
        results = asyncio.run(run(Path(tmp)))
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
