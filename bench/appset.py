"""ApplicationSet benchmark: a git directory generator over 1,000 folders.

Run: .venv/bin/python -m bench.appset [--apps N]  (prints a table, writes
bench/results/appset.json)

A real Git repository (``file://``) holds ``apps/app-NNNN/`` folders. Measured:
parameter generation through the Git cache (cold: first fetch; warm: refresh with no
change), rendering the Applications with fasttemplate and with goTemplate, and one
reconcile pass against a local cluster until all Applications exist, then a second
pass with nothing to change. The peer is ``kubectl apply --server-side`` of the same
rendered Applications into another namespace: the cost of only writing them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tether.controller.appsets import ApplicationSetReconciler
from tether.controller.appsets.generate import generate
from tether.controller.appsets.generator import GenerationContext
from tether.controller.appsets.render import render_applications
from tether.controller.appsets.sources import GitRepositories, StaticInputs
from tether.controller.install import install
from tether.kube import KubeClient, Throttle, load_kubeconfig
from tether.localcluster.launcher import LocalClusterProcess
from tether.model.applicationset import ApplicationSet
from tether.source import GitCache
from tether.tools import find_tool

RESULTS = Path(__file__).resolve().parent / "results" / "appset.json"
GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def make_repository(folder: Path, count: int) -> str:
    """A repository with ``count`` app folders; returns its ``file://`` URL."""
    folder.mkdir(parents=True)
    for i in range(count):
        app = folder / "apps" / f"app-{i:04d}"
        app.mkdir(parents=True)
        (app / "kustomization.yaml").write_text("resources: []\n")
    for args in (
        ["init", "-q", "--initial-branch=main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "apps"],
    ):
        subprocess.run(["git", *args], cwd=folder, env=GIT_ENV, check=True)
    return f"file://{folder}"


def appset_manifest(url: str, namespace: str, *, go: bool) -> dict[str, Any]:
    """The benchmarked ApplicationSet."""
    name, path = (
        ("{{ .path.basename }}", "{{ .path.path }}")
        if go
        else (
            "{{path.basename}}",
            "{{path}}",
        )
    )
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "bench", "namespace": namespace},
        "spec": {
            "goTemplate": go,
            "generators": [{"git": {"repoURL": url, "directories": [{"path": "apps/*"}]}}],
            "template": {
                "metadata": {"name": name, "labels": {"team": "bench"}},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": url, "targetRevision": "HEAD", "path": path},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
                },
            },
        },
    }


async def generation(url: str, cache_dir: Path, count: int) -> dict[str, float]:
    """Seconds to generate parameters (cold, warm) and to render (fast, Go)."""
    repos = GitRepositories(GitCache(cache_dir))
    inputs = StaticInputs([])
    timings: dict[str, float] = {}
    for go in (False, True):
        appset = ApplicationSet.from_dict(appset_manifest(url, "argocd", go=go))
        ctx = GenerationContext(appset, repos, inputs, inputs)
        for label in ("cold", "warm") if not go else ("warm-go",):
            started = time.perf_counter()
            results, _ = await generate(ctx)
            timings[f"generate-{label}"] = time.perf_counter() - started
        started = time.perf_counter()
        rendered = render_applications(appset, results)
        timings["render-go" if go else "render-fast"] = time.perf_counter() - started
        assert len(rendered.applications) == count, len(rendered.applications)
    return timings


def kubectl_apply(apps: list[dict[str, Any]], kubeconfig: Path, folder: Path) -> float:
    """Seconds for ``kubectl apply --server-side`` of ``apps``."""
    manifest = folder / "apps.yaml"
    manifest.write_text(yaml.safe_dump_all(apps))
    started = time.perf_counter()
    subprocess.run(
        [
            str(find_tool("kubectl")),
            "--kubeconfig",
            str(kubeconfig),
            "apply",
            "--server-side",
            "-f",
            str(manifest),
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


async def cluster_pass(url: str, cache_dir: Path, folder: Path, count: int) -> dict[str, float]:
    """Seconds until all Applications exist, for a no-change pass, and for kubectl."""
    with LocalClusterProcess(folder / "cluster") as cluster:
        config = load_kubeconfig(cluster.kubeconfig)
        async with KubeClient(config, throttle=Throttle(qps=0, max_in_flight=64)) as client:
            for namespace in ("argocd", "peer"):
                await install(client, namespace)
            await client.apply(appset_manifest(url, "argocd", go=False))
            reconciler = ApplicationSetReconciler(client, "argocd", GitCache(cache_dir))
            started = time.perf_counter()
            first = await reconciler.reconcile_once("bench")
            listed = await client.list("argoproj.io/v1alpha1", "Application", "argocd")
            created = time.perf_counter() - started
            assert len(first.created) == count == len(listed.items), len(listed.items)
            started = time.perf_counter()
            second = await reconciler.reconcile_once("bench")
            unchanged = time.perf_counter() - started
            assert second.created == second.updated == second.deleted == ()
            peer_apps = [
                {
                    "apiVersion": item["apiVersion"],
                    "kind": item["kind"],
                    "metadata": {"name": item["metadata"]["name"], "namespace": "peer"},
                    "spec": item["spec"],
                }
                for item in listed.items
            ]
            peer = await asyncio.to_thread(kubectl_apply, peer_apps, cluster.kubeconfig, folder)
    return {"create-all": created, "no-change": unchanged, "kubectl": peer}


async def main_async(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        url = make_repository(folder / "repo", count)
        gen = await generation(url, folder / "cache-gen", count)
        cluster = await cluster_pass(url, folder / "cache-cluster", folder, count)
    rows = [
        ("generate params, cold (first fetch) (ms)", gen["generate-cold"], None, ""),
        ("generate params, warm (no change) (ms)", gen["generate-warm"], None, "< 500 ms"),
        ("render Applications, fasttemplate (ms)", gen["render-fast"], None, ""),
        ("render Applications, goTemplate (ms)", gen["render-go"], None, ""),
        (
            f"pass until {count} Applications exist (ms)",
            cluster["create-all"],
            cluster["kubectl"],
            "faster than kubectl",
        ),
        ("pass with nothing to change (ms)", cluster["no-change"], None, ""),
    ]
    return {
        "name": "appset",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "applications": count,
        "rows": [
            {
                "measure": measure,
                "tether": round(value * 1000, 1),
                "peer": None if peer is None else round(peer * 1000, 1),
                "peer_name": "" if peer is None else "kubectl apply --server-side (writes only)",
                "ratio": None if peer is None else round(peer / value, 2),
                "target": target,
            }
            for measure, value, peer, target in rows
        ],
    }


def print_table(result: dict[str, Any]) -> None:
    """The result as a table."""
    header = f"{'measure':46} {'tether':>10} {'peer':>10} {'ratio':>7}  target"
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        peer = "" if row["peer"] is None else row["peer"]
        ratio = "" if row["ratio"] is None else f"{row['ratio']}x"
        print(f"{row['measure']:46} {row['tether']:>10} {peer:>10} {ratio:>7}  {row['target']}")


def main() -> None:
    """Run the benchmark, write the results, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    args = parser.parse_args()
    result = asyncio.run(main_async(args.apps))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)


if __name__ == "__main__":
    main()
