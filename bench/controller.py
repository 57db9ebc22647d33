"""Controller benchmark: N applications of 20 objects each, reconciled by one controller.

Run: .venv/bin/python -m bench.controller [--apps N] [--trials T]  (quick mode: 100
apps; ``--apps 1000`` for the full run; prints a table, writes
bench/results/controller.json)

One local cluster (a child process) and one controller in this process. The N apps
share one repository path (20 ConfigMaps) and each deploys to its own namespace; one
more app, the *target*, has its own repository so that a webhook for it refreshes it
alone. Measured:

- cold sync: from creating every Application to every one Synced and Healthy;
- no-change refresh pass: every app refreshed once with nothing changed (wall time
  and CPU seconds of this process, where the controller runs);
- commit -> Synced: a commit to the target's repository, announced with ``note_push``
  (what the webhook endpoint calls), until the target is Synced to it;
- drift -> healed: a managed ConfigMap of the target changed behind tether's back,
  until self-heal has put it back (the self-heal back-off is set to 0 for this, so the
  figure is the detection and repair time, not the configured wait);
- the controller process's RSS after all of it.

Targets (2 cores, 1,000 apps): refresh pass < 2 s; commit -> Synced p50 < 1 s;
drift -> healed p50 < 1 s; RSS < 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from tether.controller import ApplicationController, install
from tether.kube import KubeClient, Throttle, load_kubeconfig
from tether.localcluster.launcher import LocalClusterProcess
from tether.model import ResourceKey
from tether.source import GitCache

RESULTS = Path(__file__).resolve().parent / "results" / "controller.json"
OBJECTS = 20
NAMESPACE = "argocd"
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-{i}
data:
  index: "{i}"
  value: "{value}"
"""


def git(*args: str, cwd: Path) -> str:
    """Run git in ``cwd``; return its output."""
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


class Repo:
    """A bare repository and a working clone to commit to it."""

    def __init__(self, root: Path, name: str) -> None:
        self.bare = root / f"{name}.git"
        self.work = root / name
        git("init", "-q", "--bare", "--initial-branch=main", str(self.bare), cwd=root)
        git("init", "-q", "--initial-branch=main", str(self.work), cwd=root)
        git("config", "user.email", "bench@tether.dev", cwd=self.work)
        git("config", "user.name", "bench", cwd=self.work)
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    @property
    def url(self) -> str:
        return f"file://{self.bare}"

    def commit(self, value: str) -> str:
        """Write the 20 ConfigMaps with ``value``, commit, push; return the SHA."""
        folder = self.work / "app"
        folder.mkdir(exist_ok=True)
        for i in range(OBJECTS):
            (folder / f"cm-{i}.yaml").write_text(CONFIGMAP.format(i=i, value=value))
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", value, cwd=self.work)
        git("push", "-q", "origin", "HEAD:main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def application(name: str, repo_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "path": "app", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    }


def _status(app: dict[str, Any] | None) -> tuple[str, str, str, str]:
    status = (app or {}).get("status") or {}
    return (
        str((status.get("sync") or {}).get("status", "")),
        str((status.get("health") or {}).get("status", "")),
        str((status.get("sync") or {}).get("revision", "")),
        str((status.get("operationState") or {}).get("phase", "")),
    )


async def wait_until(check: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll ``check`` every 5 ms; return the seconds it took."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > seconds:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main_async(apps: int, trials: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as scratch,
        LocalClusterProcess(Path(scratch) / "cluster") as cluster,
    ):
        root = Path(scratch)
        shared, own = Repo(root, "shared"), Repo(root, "target")
        shared.commit("v0")
        sha = own.commit("v0")
        config = load_kubeconfig(cluster.kubeconfig)
        async with KubeClient(config, throttle=Throttle(qps=0, max_in_flight=64)) as client:
            await install(client, NAMESPACE)
            await client.patch(
                "v1",
                "ConfigMap",
                "argocd-cm",
                NAMESPACE,
                {
                    "data": {
                        "tether.dev/self-heal.backoff.duration": "0s",
                        "tether.dev/self-heal.backoff.max-duration": "0s",
                    }
                },
            )
            controller = ApplicationController(
                client, GitCache(root / "git"), namespace=NAMESPACE, resync=False
            )
            await controller.start()
            cache = controller.management.cache
            names = [f"bench-{n}" for n in range(apps)]

            def app(name: str) -> dict[str, Any] | None:
                return cache.get(ResourceKey("argoproj.io", "Application", NAMESPACE, name))

            def settled(name: str, revision: str = "") -> bool:
                sync, health, at, phase = _status(app(name))
                return (
                    (sync, health) == ("Synced", "Healthy")
                    and phase in ("", "Succeeded")
                    and (not revision or at == revision)
                )

            try:
                started = time.perf_counter()
                for name in names:
                    await client.apply(application(name, shared.url))
                await client.apply(application("target", own.url))
                await wait_until(
                    lambda: all(settled(n) for n in [*names, "target"]),
                    60 + apps * 2.0,
                    "the cold sync",
                )
                cold = time.perf_counter() - started

                passes: list[tuple[float, float]] = []
                for _ in range(3):
                    await controller.refresh_queue.wait_idle()
                    await asyncio.sleep(0.5)
                    wall, cpu = time.perf_counter(), time.process_time()
                    for name in [*names, "target"]:
                        controller.refresh_queue.add(f"{NAMESPACE}/{name}")
                    await controller.refresh_queue.wait_idle()
                    passes.append((time.perf_counter() - wall, time.process_time() - cpu))

                commit_latency = []
                for trial in range(trials):
                    sha = own.commit(f"v{trial + 1}")
                    began = time.perf_counter()
                    controller.note_push(own.url)
                    await wait_until(
                        lambda revision=sha: settled("target", revision), 60, "commit -> Synced"
                    )
                    commit_latency.append(time.perf_counter() - began)
                    await asyncio.sleep(0.2)

                heal_latency = []
                key = ResourceKey("", "ConfigMap", "target", "cm-0")
                for trial in range(trials):
                    await controller.operation_queue.wait_idle()
                    await asyncio.sleep(0.3)
                    began = time.perf_counter()
                    drifted = await client.patch(
                        "v1", "ConfigMap", "cm-0", "target", {"data": {"value": f"drift-{trial}"}}
                    )
                    drift_version = int(drifted["metadata"]["resourceVersion"])

                    def healed(after: int = drift_version) -> bool:
                        # The local cluster's resourceVersions are increasing integers.
                        live = controller.management.cache.get(key) or {}
                        version = int((live.get("metadata") or {}).get("resourceVersion", 0))
                        value = (live.get("data") or {}).get("value")
                        return version > after and value == f"v{trials}"

                    await wait_until(healed, 60, "drift -> healed")
                    heal_latency.append(time.perf_counter() - began)
                rss = psutil.Process().memory_info().rss / 2**20
            finally:
                await controller.close()

    best_wall = min(p[0] for p in passes)
    best_cpu = min(p[1] for p in passes)

    def row(measure: str, value: float, target: str) -> dict[str, Any]:
        return {"measure": measure, "tether": round(value, 3), "target": target}

    return {
        "name": "controller",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cpus, "
        f"python {platform.python_version()}",
        "apps": apps + 1,
        "objects_per_app": OBJECTS,
        "trials": trials,
        "rows": [
            row(f"cold sync, {apps + 1} apps x {OBJECTS} objects (s)", cold, ""),
            row("no-change refresh pass, wall (s)", best_wall, "< 2 s at 1,000 apps"),
            row("no-change refresh pass, CPU (s)", best_cpu, ""),
            row("commit -> Synced p50 (s)", statistics.median(commit_latency), "< 1 s"),
            row("commit -> Synced p95 (s)", percentile(commit_latency, 0.95), ""),
            row("drift -> healed p50 (s)", statistics.median(heal_latency), "< 1 s"),
            row("drift -> healed p95 (s)", percentile(heal_latency, 0.95), ""),
            row("controller RSS (MB)", rss, "< 500 MB"),
        ],
    }


def print_table(result: dict[str, Any]) -> None:
    header = f"{'measure':48} {'tether':>10}  target"
    print(header)
    print("-" * len(header))
    for entry in result["rows"]:
        print(f"{entry['measure']:48} {entry['tether']:>10}  {entry['target']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    result = asyncio.run(main_async(args.apps, args.trials))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)


if __name__ == "__main__":
    main()
