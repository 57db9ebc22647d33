"""Benchmark of the REST API: listing applications under load, as the UI and CLI do.

Starts a local cluster and ``tether server`` (each its own process, on loopback),
creates 1,000 Applications, logs in as admin, then runs 200 concurrent clients for
10 seconds, each sending ``GET /api/v1/applications?limit=100`` back to back on its
own keep-alive connection, and reports the latency percentiles (target: p99 < 200 ms).
A second run adds a unique ``nonce`` parameter to every request, so no encoded page
can be reused: it measures the list as computed (filter, RBAC, encode) every time. A
third does the same in another order (``sortBy=health``), which the server sorts over
all 1,000 apps once per change of the apps and reuses until the next.

Clients use :class:`Connection`, a minimal HTTP/1.1 client: the server, the cluster and
the load generator share two cores here, and a general-purpose Python HTTP client
spends more CPU per request than the server, which would measure the client. Note
that with closed-loop clients latency is bounded below by clients / throughput.

Prints a table and writes ``bench/results/api.json``. Run: ``.venv/bin/python -m bench.api``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tether.controller import install
from tether.kube import KubeClient, load_kubeconfig
from tether.model import API_VERSION

RESULTS = Path(__file__).resolve().parent / "results" / "api.json"
APPS = 1000
CLIENTS = 200
DURATION = 10.0
WARMUP = 1.0
PATH = "/api/v1/applications?limit=100"
SORTED_PATH = f"{PATH}&sortBy=health"
NAMESPACE = "argocd"
TARGET_P99_MS = 200.0
TETHER = Path(sys.executable).with_name("tether")


def start(args: list[str], ready: str, log: Path) -> tuple[subprocess.Popen[str], str]:
    """Start a tether process and wait (bounded) for its ready line; returns it and its URL."""
    process = subprocess.Popen(
        [str(TETHER), *args], stdout=subprocess.PIPE, stderr=log.open("w"), text=True
    )
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    deadline, line = time.monotonic() + 60, ""
    while time.monotonic() < deadline and ready not in line:
        line += process.stdout.readline() or ""
        if process.poll() is not None:
            break
        time.sleep(0.05)
    if ready not in line:
        process.kill()
        raise RuntimeError(f"{args[0]} did not start: {log.read_text()[-2000:]}")
    return process, line.split(ready, 1)[1].split()[0]


def application(index: int) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {
            "name": f"app-{index:04d}",
            "namespace": NAMESPACE,
            "labels": {"team": f"team-{index % 10}"},
        },
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://github.com/example/apps.git",
                "targetRevision": "main",
                "path": f"apps/app-{index:04d}",
            },
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": f"team-{index % 10}",
            },
        },
        "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}},
    }


class Connection:
    """One keep-alive HTTP/1.1 connection; its requests are sequential."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port), limit=1 << 22)
        return cls(reader, writer)

    async def get(self, path: str, token: str) -> tuple[int, bytes]:
        self._writer.write(
            f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        )
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


async def load(url: str, token: str, *, unique: bool = False, path: str = PATH) -> dict[str, Any]:
    """Run the clients asking for ``path``; latencies of requests started after the warm-up.

    ``unique`` makes every query string different (defeating the page cache).
    """
    connections = [await Connection.open(url) for _ in range(CLIENTS)]
    status, body = await connections[0].get(path, token)
    first = json.loads(body)
    assert status == 200, body[:200]
    assert len(first["items"]) == 100, "a page must hold 100 applications"
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    measure_from, stop_at = start + WARMUP, start + WARMUP + DURATION

    counter = iter(range(10**9))

    async def client(connection: Connection) -> None:
        nonlocal errors
        while (sent := time.perf_counter()) < stop_at:
            sent_path = f"{path}&nonce={next(counter)}" if unique else path
            status, _ = await connection.get(sent_path, token)
            if sent >= measure_from:
                latencies.append(time.perf_counter() - sent)
                errors += status != 200

    await asyncio.gather(*(client(c) for c in connections))
    await asyncio.gather(*(c.close() for c in connections))
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": len(latencies) / DURATION,
        "p50_ms": percentile(0.50),
        "p90_ms": percentile(0.90),
        "p99_ms": percentile(0.99),
        "max_ms": latencies[-1] * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "page_bytes": len(body),
    }


async def prepare(kubeconfig: Path) -> None:
    async with KubeClient(load_kubeconfig(kubeconfig)) as client:
        await install(client, NAMESPACE)
        gate = asyncio.Semaphore(16)

        async def create(index: int) -> None:
            async with gate:
                await client.create(application(index))

        await asyncio.gather(*(create(i) for i in range(APPS)))


async def admin_token(kubeconfig: Path, url: str) -> str:
    async with KubeClient(load_kubeconfig(kubeconfig)) as client:
        secret = await client.get("v1", "Secret", "argocd-initial-admin-secret", NAMESPACE)
    password = base64.b64decode(secret["data"]["password"]).decode()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post(
            "/api/v1/session", json={"username": "admin", "password": password}
        )
        response.raise_for_status()
        return str(response.json()["token"])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tether-bench-api-") as scratch:
        root = Path(scratch)
        cluster, _ = start(
            ["local-cluster", "serve", "--data-dir", str(root / "cluster"), "--port", "0"],
            "tether local cluster ready at",
            root / "cluster.log",
        )
        kubeconfig = root / "cluster" / "kubeconfig"
        server = None
        try:
            prepare_start = time.perf_counter()
            asyncio.run(prepare(kubeconfig))
            prepare_s = time.perf_counter() - prepare_start
            server, url = start(
                ["server", "--kubeconfig", str(kubeconfig), "--port", "0", "-n", NAMESPACE],
                "tether server ready at",
                root / "server.log",
            )
            token = asyncio.run(admin_token(kubeconfig, url))
            result = asyncio.run(load(url, token))
            uncached = asyncio.run(load(url, token, unique=True))
            sorted_uncached = asyncio.run(load(url, token, unique=True, path=SORTED_PATH))
        finally:
            for process in (server, cluster):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)
    result |= {
        "uncached": uncached,
        "uncached_sorted_by_health": sorted_uncached,
        "applications": APPS,
        "clients": CLIENTS,
        "duration_s": DURATION,
        "path": PATH,
        "create_1000_apps_s": prepare_s,
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": result["p99_ms"] < TARGET_P99_MS,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    rows = [
        ("requests (after 1 s warm-up)", f"{result['requests']}"),
        ("errors", f"{result['errors']}"),
        ("requests/s", f"{result['requests_per_s']:.0f}"),
        ("p50", f"{result['p50_ms']:.1f} ms"),
        ("p90", f"{result['p90_ms']:.1f} ms"),
        ("p99", f"{result['p99_ms']:.1f} ms (target < {TARGET_P99_MS:.0f} ms)"),
        ("max", f"{result['max_ms']:.1f} ms"),
        ("page size", f"{result['page_bytes'] / 1024:.0f} KiB"),
        ("create 1,000 apps", f"{prepare_s:.1f} s"),
        ("uncached: requests/s", f"{uncached['requests_per_s']:.0f}"),
        ("uncached: p50 / p99", f"{uncached['p50_ms']:.1f} / {uncached['p99_ms']:.1f} ms"),
        ("uncached, sortBy=health: requests/s", f"{sorted_uncached['requests_per_s']:.0f}"),
        (
            "uncached, sortBy=health: p50 / p99",
            f"{sorted_uncached['p50_ms']:.1f} / {sorted_uncached['p99_ms']:.1f} ms",
        ),
    ]
    print(f"GET {PATH}: {CLIENTS} clients, {DURATION:.0f} s, {APPS} applications")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
