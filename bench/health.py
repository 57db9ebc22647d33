"""Health benchmark: verdicts per second for built-in checks, a Lua check, and aggregation.

Run: .venv/bin/python -m bench.health  (prints a table, writes bench/results/health.json)

The objects are the realistic fixtures of testdata/health (Deployments, Pods with
container statuses, StatefulSets, HPAs, custom resources, ...) cycled to 10,000 with
distinct names. The Lua case runs Argo CD's documented cert-manager Certificate check
from testdata/health/settings/argocd-cm.yaml, as a controller judging 10,000
Certificates would: each run converts the object to Lua tables, runs the compiled
script in a fresh sandboxed environment and reads the result back.

It also measures what a runaway script costs before its budget stops it: an endless
loop (instruction budget) and an allocation loop (memory budget).
"""

from __future__ import annotations

import copy
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tether.health import (
    HealthOverrides,
    LuaSandbox,
    ManagedResource,
    assess_app_health,
    assess_health,
)
from tether.health.sandbox import DEFAULT_MAX_INSTRUCTIONS, DEFAULT_MAX_MEMORY, ScriptError
from tether.model import ResourceKey

OBJECTS = 10_000
ROUNDS = 5
TESTDATA = Path(__file__).resolve().parents[1] / "testdata" / "health"
RESULTS = Path(__file__).resolve().parent / "results" / "health.json"


def fixtures() -> list[dict[str, Any]]:
    loaded = [yaml.safe_load(path.read_text()) for path in sorted(TESTDATA.glob("*.yaml"))]
    return [obj for obj in loaded if isinstance(obj, dict)]


def fleet(templates: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    objects = []
    for index in range(count):
        obj = copy.deepcopy(templates[index % len(templates)])
        obj["metadata"]["name"] = f"{obj['metadata']['name']}-{index}"
        objects.append(obj)
    return objects


def best_of(rounds: int, work: Callable[[], object]) -> tuple[float, float]:
    """Seconds of the best and the median of ``rounds`` runs."""
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings), statistics.median(timings)


def measure_runaway_scripts() -> list[dict[str, Any]]:
    """How long the sandbox takes to stop a script that would never end on its own."""
    sandbox = LuaSandbox()
    scripts = {
        "endless loop": ("while true do end", f"{DEFAULT_MAX_INSTRUCTIONS:,} instructions"),
        "allocation loop": (
            "local t = {} while true do t[#t + 1] = {} end",
            f"{DEFAULT_MAX_MEMORY // 2**20} MiB",
        ),
    }
    rows = []
    for name, (script, budget) in scripts.items():

        def stop(script: str = script) -> None:
            try:
                sandbox.run(script, {}, open_libs=False)
            except ScriptError:
                return
            raise AssertionError("the runaway script was not stopped")

        best, _ = best_of(ROUNDS, stop)
        rows.append({"script": name, "budget": budget, "best_ms": round(best * 1000, 2)})
    return rows


def main() -> None:
    templates = fixtures()
    mixed = fleet(templates, OBJECTS)
    certificates = fleet([t for t in templates if t["kind"] == "Certificate"], OBJECTS)
    settings = yaml.safe_load((TESTDATA / "settings" / "argocd-cm.yaml").read_text())["data"]
    overrides = HealthOverrides.from_settings(settings)
    resources = [ManagedResource(ResourceKey.of(obj), target=obj, live=obj) for obj in mixed]

    cases = {
        "built-in checks, mixed kinds": lambda: [assess_health(obj) for obj in mixed],
        "Lua check (cert-manager Certificate)": lambda: [
            assess_health(obj, overrides=overrides) for obj in certificates
        ],
        "application of 10,000 resources": lambda: assess_app_health(resources),
    }
    rows = []
    for name, work in cases.items():
        work()  # warm-up: imports, compilation, caches
        best, median = best_of(ROUNDS, work)
        rows.append(
            {
                "case": name,
                "objects": OBJECTS,
                "best_ms": round(best * 1000, 2),
                "median_ms": round(median * 1000, 2),
                "per_second": round(OBJECTS / best),
                "us_per_object": round(best / OBJECTS * 1e6, 2),
            }
        )

    runaway = measure_runaway_scripts()

    print(f"{'case':40} {'best ms':>9} {'median ms':>10} {'per second':>11} {'µs/object':>10}")
    for row in rows:
        print(
            f"{row['case']:40} {row['best_ms']:>9.1f} {row['median_ms']:>10.1f} "
            f"{row['per_second']:>11,} {row['us_per_object']:>10.2f}"
        )
    print()
    print(f"{'runaway script':40} {'budget':>24} {'ms to stop':>11}")
    for row in runaway:
        print(f"{row['script']:40} {row['budget']:>24} {row['best_ms']:>11.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "objects": OBJECTS,
                "rounds": ROUNDS,
                "fixtures": len(templates),
                "cases": rows,
                "runaway_scripts": runaway,
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
