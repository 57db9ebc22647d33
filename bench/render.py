"""Render benchmark: 200 applications cold, then refreshed at an unchanged commit.

Run: .venv/bin/python -m bench.render  (prints a table, writes bench/results/render.json)

A repository of 200 applications is generated from testdata/render/repo: a third are
directories of YAML (the guestbook app), a third Kustomize overlays of a shared base
with Application options (prefix, image, label, replicas: the scratch-copy path), and
a third Helm charts (each its own copy of the demo chart, with a values file and a
parameter). Each application is a separate source at the same commit.

- cold: every app rendered once by a fresh :class:`Renderer` (tools run, output
  parsed, objects frozen and cached); time per app, by tool;
- warm: every app refreshed at the unchanged commit; total time for all 200 (target
  below 50 ms), commands run (should be 0) and the cache hit rate;
- peer: ``helm template`` and ``kubectl kustomize`` run directly for the same Helm and
  Kustomize apps (the kustomize peer builds the overlay without the Application's edits,
  which need a copy; the helm peer passes the same values file and parameter).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tether.model import ApplicationSource
from tether.render.detect import Tool
from tether.render.process import Limits, ProcessResult, run_process
from tether.render.renderer import Renderer
from tether.render.request import RenderRequest, SourceCheckout
from tether.render.toolchain import Toolchain
from tether.tools import find_tool

APPS = 200
REVISION = "4f1c0e1f7d5b9a3e2c6d8b0a1f3e5d7c9b2a4c6e"
TESTDATA = Path(__file__).resolve().parents[1] / "testdata" / "render" / "repo"
RESULTS = Path(__file__).resolve().parent / "results" / "render.json"
WARM_TARGET_MS = 50.0


class CountingRunner:
    """The real sandboxed runner, counting commands."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        limits: Limits | None = None,
        check: bool = True,
        subject: str = "",
    ) -> ProcessResult:
        self.count += 1
        return await run_process(
            argv, cwd=cwd, env=env, limits=limits or Limits(), check=check, subject=subject
        )


def build_repository(root: Path) -> list[dict[str, Any]]:
    """Lay out 200 apps under ``root``; return their sources (wire form)."""
    shutil.copytree(TESTDATA / "apps/kustomize/base", root / "bases/api")
    sources: list[dict[str, Any]] = []
    for index in range(APPS):
        kind = index % 3
        if kind == 0:
            path = f"apps/dir-{index:03}"
            shutil.copytree(TESTDATA / "apps/guestbook", root / path)
            sources.append({"repoURL": "r", "path": path})
        elif kind == 1:
            path = f"apps/kz-{index:03}"
            (root / path).mkdir(parents=True)
            (root / path / "kustomization.yaml").write_text(
                "resources:\n  - ../../bases/api\ncommonLabels:\n  env: prod\n"
            )
            options = {
                "namePrefix": f"t{index}-",
                "images": [f"example.com/team/api=registry.local/api:{index}.0"],
                "commonLabels": {"team": f"team-{index}"},
                "replicas": [{"name": "api", "count": 2}],
            }
            sources.append({"repoURL": "r", "path": path, "kustomize": options})
        else:
            path = f"charts/demo-{index:03}"
            shutil.copytree(TESTDATA / "charts/demo", root / path)
            helm = {
                "valueFiles": ["values-prod.yaml"],
                "parameters": [{"name": "image.tag", "value": f"1.{index}"}],
            }
            sources.append({"repoURL": "r", "path": path, "helm": helm})
    return sources


def request(root: Path, source: dict[str, Any], index: int) -> RenderRequest:
    checkout = SourceCheckout(ApplicationSource.from_dict(source), root, REVISION)
    return RenderRequest(f"app-{index:03}", (checkout,), destination_namespace="prod")


async def render_all(
    renderer: Renderer, requests: list[RenderRequest]
) -> tuple[float, dict[Tool, list[float]], int]:
    """Seconds for all apps, seconds per app by tool, and objects rendered.

    Requests are built beforehand: a controller holds its Applications parsed.
    """
    per_tool: dict[Tool, list[float]] = defaultdict(list)
    objects = 0
    started = time.perf_counter()
    for each in requests:
        app_started = time.perf_counter()
        result = await renderer.render(each)
        per_tool[result.tools[0]].append(time.perf_counter() - app_started)
        objects += len(result.objects)
    return time.perf_counter() - started, per_tool, objects


def peer(root: Path, sources: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Seconds per app for the tools run directly on the same apps."""
    helm, kubectl = str(find_tool("helm")), str(find_tool("kubectl"))
    timings: dict[str, list[float]] = defaultdict(list)
    for index, source in enumerate(sources):
        if "helm" in source:
            argv = [
                helm,
                "template",
                f"app-{index:03}",
                source["path"],
                "--namespace",
                "prod",
                "--values",
                f"{source['path']}/values-prod.yaml",
                "--set",
                source["helm"]["parameters"][0]["name"]
                + "="
                + source["helm"]["parameters"][0]["value"],
                "--include-crds",
            ]
            label = "helm template"
        elif "kustomize" in source:
            argv = [kubectl, "kustomize", source["path"]]
            label = "kubectl kustomize"
        else:
            continue
        started = time.perf_counter()
        subprocess.run(argv, cwd=root, check=True, capture_output=True, timeout=120)
        timings[label].append(time.perf_counter() - started)
    return timings


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tether-bench-render-") as folder:
        root = Path(folder) / "repo"
        sources = build_repository(root)
        runner = CountingRunner()
        renderer = Renderer(toolchain=Toolchain(runner=runner))
        requests = [request(root, source, index) for index, source in enumerate(sources)]
        cold_total, cold, objects = await render_all(renderer, requests)
        commands_cold = runner.count
        stats_before = renderer.cache.stats
        warm_total, warm, _ = await render_all(renderer, requests)
        commands_warm = runner.count - commands_cold
        stats_after = renderer.cache.stats
        peers = peer(root, sources)

    hits = stats_after.hits - stats_before.hits
    lookups = hits + stats_after.misses - stats_before.misses
    rows = []
    for tool in (Tool.DIRECTORY, Tool.KUSTOMIZE, Tool.HELM):
        peer_label = {Tool.HELM: "helm template", Tool.KUSTOMIZE: "kubectl kustomize"}.get(tool)
        peer_times = peers.get(peer_label or "", [])
        rows.append(
            {
                "tool": tool.value,
                "apps": len(cold[tool]),
                "cold_ms_per_app_median": ms(statistics.median(cold[tool])),
                "cold_ms_per_app_mean": ms(statistics.fmean(cold[tool])),
                "warm_us_per_app_median": round(statistics.median(warm[tool]) * 1e6, 1),
                "peer": peer_label,
                "peer_ms_per_app_median": ms(statistics.median(peer_times)) if peer_times else None,
            }
        )
    report = {
        "apps": APPS,
        "objects": objects,
        "cold_total_ms": ms(cold_total),
        "warm_total_ms": ms(warm_total),
        "warm_target_ms": WARM_TARGET_MS,
        "warm_within_target": ms(warm_total) < WARM_TARGET_MS,
        "commands_cold": commands_cold,
        "commands_warm": commands_warm,
        "warm_cache_hit_rate": round(hits / lookups, 4) if lookups else 0.0,
        "cache_entries": stats_after.entries,
        "cache_bytes": stats_after.bytes,
        "by_tool": rows,
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
    }
    _print(report)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


def _print(report: dict[str, Any]) -> None:
    header = (
        f"{'tool':<10} {'apps':>5} {'cold ms/app':>12} {'warm us/app':>12} "
        f"{'peer':>18} {'peer ms/app':>12}"
    )
    print(header)
    print("-" * len(header))
    for row in report["by_tool"]:
        peer_ms = row["peer_ms_per_app_median"]
        print(
            f"{row['tool']:<10} {row['apps']:>5} {row['cold_ms_per_app_median']:>12.2f} "
            f"{row['warm_us_per_app_median']:>12.1f} {row['peer'] or '-':>18} "
            f"{peer_ms if peer_ms is not None else '-':>12}"
        )
    print()
    print(
        f"cold, all {report['apps']} apps: {report['cold_total_ms']:.0f} ms "
        f"({report['commands_cold']} commands, {report['objects']} objects)"
    )
    print(
        f"warm refresh, all {report['apps']} apps: {report['warm_total_ms']:.1f} ms "
        f"(target < {report['warm_target_ms']:.0f} ms: "
        f"{'met' if report['warm_within_target'] else 'MISSED'}), "
        f"{report['commands_warm']} commands, hit rate {report['warm_cache_hit_rate']:.0%}"
    )


def _cpus() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    asyncio.run(main())
