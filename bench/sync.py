"""Sync benchmark: 2,000 objects of mixed kinds applied by tether's sync and by kubectl.

Run: .venv/bin/python -m bench.sync [--objects N]  (prints a table, writes
bench/results/sync.json)

One local cluster serves both runs. tether plans and runs a real sync operation
(project check, server-side dry-run of every object, then server-side apply, then the
health wait); the peer is ``kubectl apply --server-side -f DIR`` of the same objects,
written as YAML files, into a fresh namespace. Then the no-change refresh: the live
objects come from the watch-backed cache and are compared with the desired ones by the
application's Differ, cold (first pass) and warm (cached, the steady state).
Targets: tether at least 3x faster than kubectl; the warm refresh+diff under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tether.diff import Differ, DiffSettings
from tether.kube import KubeClient, Throttle, load_kubeconfig
from tether.live import ClusterCache
from tether.localcluster.launcher import LocalClusterProcess
from tether.model import OperationPhase, ResourceKey
from tether.model.operation import Operation, OperationState, SyncOperation
from tether.model.project import default_project
from tether.model.syncoptions import SyncOptions
from tether.sync import Destination, SyncContext, plan_sync, run_sync
from tether.tools import find_tool

RESULTS = Path(__file__).resolve().parent / "results" / "sync.json"
KINDS = ("ConfigMap", "Secret", "Service", "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy")


def make_object(kind: str, i: int, ns: str) -> dict[str, Any]:
    """One realistic object of ``kind``, number ``i``, in namespace ``ns``."""
    meta = {"name": f"{kind.lower()}-{i}", "namespace": ns, "labels": {"app": f"app-{i % 50}"}}
    if kind == "ConfigMap":
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "data": {"index": str(i), "mode": "bench"},
        }
    if kind == "Secret":
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "stringData": {"password": f"pw-{i}"},
        }
    if kind == "Service":
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "spec": {
                "selector": {"app": f"app-{i % 50}"},
                "ports": [{"port": 80, "targetPort": 8080}],
            },
        }
    if kind == "ServiceAccount":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta}
    if kind == "Role":
        rule = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": meta,
            "rules": [rule],
        }
    if kind == "RoleBinding":
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": meta,
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": f"role-{i}",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": f"serviceaccount-{i}", "namespace": ns}
            ],
        }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "spec": {
            "podSelector": {"matchLabels": {"app": f"app-{i % 50}"}},
            "policyTypes": ["Ingress"],
        },
    }


def objects(count: int, ns: str) -> list[dict[str, Any]]:
    """``count`` objects, the kinds in turn."""
    return [make_object(KINDS[i % len(KINDS)], i, ns) for i in range(count)]


async def create_namespace(client: KubeClient, name: str) -> None:
    await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


async def tether_sync(
    client: KubeClient, desired: list[dict[str, Any]], ns: str
) -> tuple[float, OperationState]:
    state = OperationState(
        operation=Operation(sync=SyncOperation(revision="bench", prune=True)),
        phase=OperationPhase.RUNNING,
        started_at=datetime.now(UTC),
    )

    async def save(_: OperationState) -> None:
        return None

    context = SyncContext(
        client=client,
        app_name="bench",
        project=default_project("argocd"),
        destination=Destination(server="https://kubernetes.default.svc", namespace=ns),
        save=save,
        poll_interval=0.05,
        concurrency=64,
    )
    started = time.perf_counter()
    plan = plan_sync(desired, {}, options=SyncOptions(), prune=True)
    final = await run_sync(context, plan, state)
    return time.perf_counter() - started, final


def kubectl_apply(desired: list[dict[str, Any]], kubeconfig: Path) -> float:
    with tempfile.TemporaryDirectory() as folder:
        for index, obj in enumerate(desired):
            Path(folder, f"{index:05}.yaml").write_text(yaml.safe_dump(obj))
        started = time.perf_counter()
        subprocess.run(
            [
                str(find_tool("kubectl")),
                "--kubeconfig",
                str(kubeconfig),
                "apply",
                "--server-side",
                "-f",
                folder,
            ],
            check=True,
            capture_output=True,
            timeout=1800,
        )
        return time.perf_counter() - started


async def refresh_and_diff(
    client: KubeClient, desired: list[dict[str, Any]], passes: int
) -> list[float]:
    cache = ClusterCache(client)
    kinds = sorted({(o["apiVersion"], o["kind"]) for o in desired})
    cache.watch_kinds(kinds)
    async with asyncio.timeout(120):
        await cache.wait_synced()
    differ = Differ.for_app([], DiffSettings())
    timings = []
    for _ in range(passes):
        started = time.perf_counter()
        live = {}
        for obj in desired:
            key = ResourceKey.of(obj)
            found = cache.get(key)
            if found is not None:
                live[key] = found
        changes = differ.compare_app(desired, list(live.values()))
        timings.append(time.perf_counter() - started)
        assert changes.sync_status.value == "Synced", [
            r for r in changes.results if r.state.value != "Synced"
        ][:3]
    await cache.close()
    return timings


async def main_async(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data, LocalClusterProcess(Path(data)) as cluster:
        config = load_kubeconfig(cluster.kubeconfig)
        async with KubeClient(config, throttle=Throttle(qps=0, max_in_flight=64)) as client:
            await create_namespace(client, "bench-tether")
            await create_namespace(client, "bench-kubectl")
            ours = objects(count, "bench-tether")
            seconds, state = await tether_sync(client, ours, "bench-tether")
            if state.phase is not OperationPhase.SUCCEEDED:
                raise SystemExit(f"tether sync failed: {state.message}")
            peer = await asyncio.to_thread(
                kubectl_apply, objects(count, "bench-kubectl"), cluster.kubeconfig
            )
            diffs = await refresh_and_diff(client, ours, passes=5)
    warm_ms = min(diffs[1:]) * 1000
    return {
        "name": "sync",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "objects": count,
        "kinds": list(KINDS),
        "rows": [
            {
                "measure": f"sync {count} objects (s)",
                "tether": round(seconds, 3),
                "peer": round(peer, 3),
                "peer_name": "kubectl apply --server-side -f DIR",
                "ratio": round(peer / seconds, 2),
                "target": ">= 3x faster",
            },
            {
                "measure": "per object (ms)",
                "tether": round(seconds / count * 1000, 3),
                "peer": round(peer / count * 1000, 3),
                "peer_name": "kubectl",
                "ratio": round(peer / seconds, 2),
                "target": "",
            },
            {
                "measure": f"refresh+diff {count} objects, cold (ms)",
                "tether": round(diffs[0] * 1000, 1),
                "peer": None,
                "peer_name": "",
                "ratio": None,
                "target": "",
            },
            {
                "measure": f"refresh+diff {count} objects, no change (ms)",
                "tether": round(warm_ms, 1),
                "peer": round(diffs[0] * 1000, 1),
                "peer_name": "tether cold",
                "ratio": round(diffs[0] * 1000 / warm_ms, 1),
                "target": "< 200 ms",
            },
        ],
    }


def print_table(result: dict[str, Any]) -> None:
    header = f"{'measure':44} {'tether':>10} {'peer':>10} {'ratio':>7}  target"
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        peer = "" if row["peer"] is None else row["peer"]
        ratio = "" if row["ratio"] is None else f"{row['ratio']}x"
        print(f"{row['measure']:44} {row['tether']:>10} {peer:>10} {ratio:>7}  {row['target']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    args = parser.parse_args()
    result = asyncio.run(main_async(args.objects))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)


if __name__ == "__main__":
    main()
