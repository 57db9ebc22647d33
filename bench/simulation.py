"""Benchmark of the workload simulation: 1,000 Deployments of 3 replicas become Available.

In-process, on the store's API (the path the simulation itself writes through, with
admission, managedFields and group-committed, fsynced writes), with the system clock
and no simulated delays (``Settings.instant()``, what ``--pod-ready-seconds 0`` gives
for readiness). Measures:

- the time to create the Deployments (50 concurrent creators);
- the time until every Deployment reports ``Available`` and its rollout is complete
  (``updatedReplicas == availableReplicas == 3``), which takes 3,000 Pods, 1,000
  ReplicaSets and every status write in between;
- how many writes that took (resourceVersions handed out) and their rate;
- the process's resident memory (psutil) before and after.

It runs twice, each in a fresh child process: with Events recorded (the default) and
without, to show what the Events cost.

Prints a table and writes ``bench/results/simulation.json``. Run:
``.venv/bin/python -m bench.simulation``.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil

from tether.localcluster.server import Cluster
from tether.localcluster.simulation import Settings, Simulation

RESULTS = Path(__file__).resolve().parent / "results" / "simulation.json"
DEPLOYMENTS = int(os.environ.get("BENCH_DEPLOYMENTS", "1000"))
REPLICAS = 3
CREATORS = 50
TIMEOUT_SECONDS = 900.0


def deployment(name: str) -> dict[str, Any]:
    """A small nginx Deployment."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }


def complete(status: dict[str, Any]) -> bool:
    """Available, with every replica updated and available."""
    available = any(
        c.get("type") == "Available" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    return (
        available
        and status.get("updatedReplicas") == REPLICAS
        and status.get("availableReplicas") == REPLICAS
        and status.get("replicas") == REPLICAS
    )


async def run(data_dir: Path, settings: Settings) -> dict[str, Any]:
    """Create the Deployments and wait until all are Available."""
    process = psutil.Process(os.getpid())
    cluster = Cluster(data_dir)
    simulation = Simulation(cluster.store, cluster.registry, settings=settings)
    await cluster.start()
    await simulation.start()
    deployments = cluster.registry.get("apps", "deployments")
    assert deployments is not None
    rss_before = process.memory_info().rss
    rv_before = cluster.store.resource_version()
    names = [f"web-{index:04d}" for index in range(DEPLOYMENTS)]
    queue = list(names)

    async def creator() -> None:
        while queue:
            name = queue.pop()
            await cluster.store.create(deployments, "default", deployment(name))

    started = time.perf_counter()
    await asyncio.gather(*(creator() for _ in range(CREATORS)))
    created = time.perf_counter() - started
    pending = set(names)
    _, watch = cluster.store.watch(deployments)
    async with watch, asyncio.timeout(TIMEOUT_SECONDS):
        while pending:
            for name in list(pending):
                entry = cluster.store.lookup(deployments, "default", name)
                if entry is not None and complete(entry.obj.get("status") or {}):
                    pending.discard(name)
            if pending:
                await watch.next(1.0)
    available = time.perf_counter() - started
    writes = cluster.store.resource_version() - rv_before
    rss_after = process.memory_info().rss
    pods = cluster.registry.get("", "pods")
    assert pods is not None
    pod_count = len(cluster.store.list(pods, "default").entries)
    await simulation.close()
    await cluster.close()
    return {
        "pods": pod_count,
        "create_s": round(created, 2),
        "all_available_s": round(available, 2),
        "writes": writes,
        "writes_per_s": round(writes / available, 1),
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_mb": round(rss_after / 2**20, 1),
    }


def measure(events: bool) -> dict[str, Any]:
    """One run in this process, on a temporary data directory."""
    settings = replace(Settings.instant(), events=events)
    with tempfile.TemporaryDirectory(prefix="tether-bench-sim-") as tmp:
        return asyncio.run(run(Path(tmp), settings))


def print_table(results: dict[str, Any]) -> None:
    """The results as a table, one column per run."""
    runs = results["runs"]
    print(results["mode"])
    print(f"{results['deployments']} Deployments x {results['replicas']} replicas")
    rows = [
        ("Pods running", "pods", "{}"),
        ("create all Deployments (s)", "create_s", "{:.2f}"),
        ("all Available and complete (s)", "all_available_s", "{:.2f}"),
        ("writes (resourceVersions)", "writes", "{}"),
        ("writes/s", "writes_per_s", "{:.0f}"),
        ("RSS before (MB)", "rss_before_mb", "{}"),
        ("RSS after (MB)", "rss_after_mb", "{}"),
    ]
    width = max(len(label) for label, _, _ in rows)
    print(f"{'':<{width}}  " + "  ".join(f"{name:>14}" for name in runs))
    for label, key, fmt in rows:
        values = "  ".join(f"{fmt.format(run[key]):>14}" for run in runs.values())
        print(f"{label:<{width}}  {values}")


def main() -> None:
    """Run the benchmark, print the table, write the JSON results."""
    runs: dict[str, Any] = {}
    spawn = multiprocessing.get_context("spawn")
    for name, events in (("with events", True), ("without events", False)):
        with spawn.Pool(1) as pool:
            runs[name] = pool.apply(measure, (events,))
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "mode": "in-process (store API, fsynced group commit), system clock, no delays",
        "deployments": DEPLOYMENTS,
        "replicas": REPLICAS,
        "runs": runs,
    }
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
