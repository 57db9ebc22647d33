"""One table out of every benchmark's results (bench/results/*.json).

Each benchmark writes its own JSON shape; this module holds one small adapter per result
file that turns it into rows of the same form: what was measured, tether's figure, the
peer's figure measured in the same run (where a peer can run here), the ratio, the target
and whether it is met. The ratio is always ``peer / tether`` for durations, so a ratio
above 1 means tether was faster.

Run: ``.venv/bin/python -m bench.report`` (``bench/run`` calls it after the benchmarks).
Writes ``bench/results/summary.json`` and ``bench/results/summary.md`` and prints the table.
With ``--scaling FILE...`` it also folds controller results taken at several ``--apps``
sizes into ``bench/results/summary.scaling.json`` and plots them (matplotlib, if installed)
to ``bench/results/controller-scaling.png``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
SUMMARY_JSON = RESULTS / "summary.json"
SUMMARY_MD = RESULTS / "summary.md"
SCALING_JSON = RESULTS / "summary.scaling.json"
SCALING_PNG = RESULTS / "controller-scaling.png"

Result = Mapping[str, Any]


@dataclass(frozen=True)
class Row:
    """One line of the combined table."""

    benchmark: str
    measure: str
    tether: float
    peer: float | None = None
    peer_name: str = ""
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        """Peer figure over tether's (above 1: tether is faster), when a peer was measured."""
        if self.peer is None or self.tether == 0:
            return None
        return round(self.peer / self.tether, 2)


# --- targets ---------------------------------------------------------------------------

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "mb": 1.0, "/s": 1.0}
_BOUND = re.compile(r"^\s*(<|<=|>|>=)\s*([\d.,]+)\s*(us|ms|s|MB)?\b", re.IGNORECASE)
_TIMES = re.compile(r"^\s*>=\s*([\d.]+)x faster", re.IGNORECASE)
_AT_SIZE = re.compile(r"\bat ([\d,]+) apps\b")
_MEASURE_UNIT = re.compile(r"\((us|ms|s|MB)\)\s*$", re.IGNORECASE)


def judge(measure: str, tether: float, ratio: float | None, target: str) -> bool | None:
    """Whether ``tether`` meets a target written as the benchmarks write them.

    Understood forms: ``< 2 s``, ``>= 500``, ``< 1 s at 1,000 apps`` (the bound is in the
    target's unit, converted to the unit in the measure's trailing parentheses),
    ``>= 3x faster`` and ``faster than <peer>`` (both judged on the ratio). Anything
    else, or no target, gives None.
    """
    if not target:
        return None
    times = _TIMES.match(target)
    if times:
        return None if ratio is None else ratio >= float(times.group(1))
    if target.lower().startswith("faster than"):
        return None if ratio is None else ratio > 1.0
    bound = _BOUND.match(target)
    if not bound:
        return None
    operator, number, unit = bound.groups()
    limit = float(number.replace(",", ""))
    measured_unit = _MEASURE_UNIT.search(measure)
    if unit and measured_unit:
        limit *= _UNITS[unit.lower()] / _UNITS[measured_unit.group(1).lower()]
    return {
        "<": tether < limit,
        "<=": tether <= limit,
        ">": tether > limit,
        ">=": tether >= limit,
    }[operator]


def row(
    benchmark: str,
    measure: str,
    tether: float,
    *,
    peer: float | None = None,
    peer_name: str = "",
    target: str = "",
) -> Row:
    """A row whose ``met`` is judged from its target."""
    base = Row(
        benchmark,
        measure,
        round(tether, 3),
        None if peer is None else round(peer, 3),
        peer_name,
        target,
    )
    return replace(base, met=judge(measure, base.tether, base.ratio, target))


# --- one adapter per result file ---------------------------------------------------------


def adapt_rows(name: str, result: Result) -> list[Row]:
    """Files that already hold ``rows`` (appset, controller, sync).

    A target stated for a size (``< 2 s at 1,000 apps``) is left unjudged on a smaller run.
    """
    out = []
    for entry in result["rows"]:
        peer = entry.get("peer")
        judged = row(
            name,
            entry["measure"],
            entry["tether"],
            peer=peer,
            peer_name=entry.get("peer_name", "") if peer is not None else "",
            target=entry.get("target", ""),
        )
        size = _AT_SIZE.search(judged.target)
        if size and int(size.group(1).replace(",", "")) > int(result.get("apps", 0)):
            judged = replace(judged, met=None)
        out.append(judged)
    return out


def adapt_api(result: Result) -> list[Row]:
    """REST API latency under many concurrent clients."""
    load = f"{result['clients']} clients, {result['applications']} apps"
    return [
        row("api", f"list applications p50, {load} (ms)", result["p50_ms"]),
        row(
            "api",
            f"list applications p99, {load} (ms)",
            result["p99_ms"],
            target=f"< {result['target_p99_ms']:.0f} ms",
        ),
        row("api", "list applications, requests per second", result["requests_per_s"]),
        row("api", "list applications p99, response cache off (ms)", result["uncached"]["p99_ms"]),
    ]


def adapt_diff(result: Result) -> list[Row]:
    """Diff of many objects, cold and with the normalisation cache warm."""
    objects = result["objects"]
    return [
        row("diff", f"diff {objects} objects, cold (ms)", result["cold_ms"]),
        row(
            "diff",
            f"diff {objects} objects, no change (ms)",
            result["cached_no_change_ms"],
            peer=result["cold_ms"],
            peer_name="tether cold",
            target=f"< {result['target_ms']:.0f} ms",
        ),
        row(
            "diff",
            f"diff {objects} objects with a jq rule, no change (ms)",
            result["jq_rule_cached_ms"],
        ),
    ]


def adapt_health(result: Result) -> list[Row]:
    """Health assessment throughput."""
    rows = [
        row("health", f"{case['case']}, per object (us)", case["us_per_object"])
        for case in result["cases"]
    ]
    rows += [
        row("health", f"runaway Lua script stopped: {script['script']} (ms)", script["best_ms"])
        for script in result["runaway_scripts"]
    ]
    return rows


def adapt_localcluster(result: Result) -> list[Row]:
    """The local cluster's API server."""
    targets = result["targets"]
    return [
        row("localcluster", "creates per second", result["creates_per_s"]),
        row(
            "localcluster",
            f"server-side applies per second, {result['clients']} clients",
            result["ssa_per_s"],
            target=f">= {targets['ssa_per_s']:.0f}",
        ),
        row(
            "localcluster",
            "list 10,000 objects (s)",
            result["list_10k_s"],
            target=f"< {targets['list_10k_s']} s",
        ),
        row(
            "localcluster",
            "watch event latency p50 (ms)",
            result["watch_p50_ms"],
            target=f"< {targets['watch_p50_ms']:.0f} ms",
        ),
        row("localcluster", "watch event latency p99 (ms)", result["watch_p99_ms"]),
        row(
            "localcluster",
            "kubectl apply --server-side, per object (ms)",
            result["kubectl_ssa_ms_per_object"],
        ),
    ]


def adapt_localcluster_merge(result: Result) -> list[Row]:
    """CPU per merge operation inside the local cluster."""
    target = f"< {result['target_apply_us']:.0f} us"
    return [
        row(
            "localcluster_merge",
            f"{operation}, CPU (us)",
            micros,
            target=target if operation.startswith("server-side apply") else "",
        )
        for operation, micros in result["cpu_us_per_op"].items()
    ]


def adapt_render(result: Result) -> list[Row]:
    """Rendering many applications, per tool, cold and warm."""
    rows = [
        row("render", f"render {result['apps']} apps, cold (ms)", result["cold_total_ms"]),
        row(
            "render",
            f"render {result['apps']} apps, warm (ms)",
            result["warm_total_ms"],
            target=f"< {result['warm_target_ms']:.0f} ms",
        ),
    ]
    for tool in result["by_tool"]:
        rows.append(
            row(
                "render",
                f"{tool['tool']} app, cold median (ms)",
                tool["cold_ms_per_app_median"],
                peer=tool["peer_ms_per_app_median"],
                peer_name=tool["peer"] or "",
            )
        )
    return rows


def adapt_simulation(result: Result) -> list[Row]:
    """The workload simulation rolling out many Deployments."""
    rows = []
    for label, run in result["runs"].items():
        what = f"{result['deployments']} Deployments x {result['replicas']} Available, {label}"
        rows.append(row("simulation", f"{what} (s)", run["all_available_s"]))
        rows.append(row("simulation", f"{what}, writes per second", run["writes_per_s"]))
    return rows


def adapt_source(result: Result) -> list[Row]:
    """Git operations against the git CLI on the same loopback daemon."""
    return [
        row(
            "source",
            f"{entry['operation']}, {result['files']} files (ms)",
            entry["tether_ms"],
            peer=entry["git_cli_ms"],
            peer_name="git CLI",
        )
        for entry in result["results"]
    ]


ADAPTERS: dict[str, Callable[[Result], list[Row]]] = {
    "api": adapt_api,
    "appset": lambda result: adapt_rows("appset", result),
    "controller": lambda result: adapt_rows("controller", result),
    "diff": adapt_diff,
    "health": adapt_health,
    "localcluster": adapt_localcluster,
    "localcluster_merge": adapt_localcluster_merge,
    "render": adapt_render,
    "simulation": adapt_simulation,
    "source": adapt_source,
    "sync": lambda result: adapt_rows("sync", result),
}


def collect(results: Path = RESULTS) -> tuple[list[Row], list[str]]:
    """Rows from every known result file, and the files that were missing or unknown."""
    rows: list[Row] = []
    problems: list[str] = []
    for name, adapter in ADAPTERS.items():
        path = results / f"{name}.json"
        if not path.exists():
            problems.append(f"{path.name}: missing (did bench.{name} run?)")
            continue
        rows += adapter(json.loads(path.read_text()))
    known = {f"{name}.json" for name in ADAPTERS}
    for path in sorted(results.glob("*.json")):
        if path.name not in known and not path.name.startswith("summary"):
            problems.append(f"{path.name}: no adapter in bench/report.py")
    return rows, problems


# --- output ------------------------------------------------------------------------------


def _figure(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[met]


def table(rows: Iterable[Row]) -> list[list[str]]:
    """The rows as text cells, header first."""
    cells = [["benchmark", "measure", "tether", "peer", "ratio", "target", "met"]]
    for entry in rows:
        peer = f"{_figure(entry.peer)} ({entry.peer_name})" if entry.peer is not None else ""
        ratio = f"{entry.ratio}x" if entry.ratio is not None else ""
        cells.append(
            [
                entry.benchmark,
                entry.measure,
                _figure(entry.tether),
                peer,
                ratio,
                entry.target,
                _verdict(entry.met),
            ]
        )
    return cells


def render_text(cells: list[list[str]]) -> str:
    """A plain aligned table for the terminal."""
    widths = [max(len(line[column]) for line in cells) for column in range(len(cells[0]))]
    lines = []
    for index, line in enumerate(cells):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render_markdown(cells: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in cells[1:]
    ]
    return "\n".join(lines)


def write_summary(rows: list[Row], problems: list[str]) -> str:
    """Write summary.json and summary.md; return the text table."""
    cells = table(rows)
    met = sum(1 for entry in rows if entry.met is True)
    missed = [entry for entry in rows if entry.met is False]
    judged = met + len(missed)
    SUMMARY_JSON.write_text(
        json.dumps(
            {
                "rows": [asdict(entry) | {"ratio": entry.ratio} for entry in rows],
                "targets_met": met,
                "targets_judged": judged,
                "problems": problems,
            },
            indent=2,
        )
        + "\n"
    )
    footer = f"targets met: {met} of {judged}"
    if missed:
        footer += " (missed: " + "; ".join(entry.measure for entry in missed) + ")"
    SUMMARY_MD.write_text(
        "# Benchmark summary\n\n"
        "Written by `bench/run` (see docs/performance.md). Ratio = peer / tether: above 1,\n"
        "tether is faster.\n\n" + render_markdown(cells) + f"\n\n{footer}\n"
    )
    return render_text(cells) + f"\n\n{footer}"


# --- controller scaling --------------------------------------------------------------------


def scaling(files: list[Path]) -> list[dict[str, Any]]:
    """Controller results at several sizes, one point per file, smallest first."""

    def figure(rows: list[dict[str, Any]], prefix: str) -> float:
        return float(next(r["tether"] for r in rows if r["measure"].startswith(prefix)))

    points = []
    for path in files:
        result = json.loads(path.read_text())
        rows = result["rows"]
        points.append(
            {
                "apps": result["apps"],
                "objects": result["apps"] * result["objects_per_app"],
                "cold_sync_s": figure(rows, "cold sync"),
                "refresh_pass_s": figure(rows, "no-change refresh pass, wall"),
                "refresh_pass_cpu_s": figure(rows, "no-change refresh pass, CPU"),
                "commit_to_synced_p50_s": figure(rows, "commit -> Synced p50"),
                "drift_to_healed_p50_s": figure(rows, "drift -> healed p50"),
                "rss_mb": figure(rows, "controller RSS"),
            }
        )
    return sorted(points, key=lambda point: point["apps"])


def plot(points: list[dict[str, Any]]) -> bool:
    """Draw the scaling curve to SCALING_PNG; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    apps = [point["apps"] for point in points]
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.2))
    for key, label in [
        ("refresh_pass_s", "no-change refresh pass (s)"),
        ("commit_to_synced_p50_s", "commit -> Synced p50 (s)"),
        ("drift_to_healed_p50_s", "drift -> healed p50 (s)"),
    ]:
        left.plot(apps, [point[key] for point in points], marker="o", label=label)
    left.axhline(2.0, color="grey", linestyle=":", label="refresh target at 1,000 apps")
    left.set_xlabel("applications (20 objects each)")
    left.set_ylabel("seconds")
    left.legend(fontsize=8)
    left.set_title("latency")
    middle.plot(apps, [point["cold_sync_s"] for point in points], marker="o", color="tab:purple")
    middle.set_xlabel("applications")
    middle.set_ylabel("seconds until every app is Synced and Healthy")
    middle.set_xscale("log")
    middle.set_yscale("log")
    middle.set_title("cold sync (log-log)")
    right.plot(apps, [point["rss_mb"] for point in points], marker="o", color="tab:red")
    right.set_xlabel("applications")
    right.set_ylabel("controller RSS (MB)")
    right.set_title("memory")
    figure.suptitle("tether controller scaling (2 cores, local cluster)")
    figure.tight_layout()
    figure.savefig(SCALING_PNG, dpi=110)
    plt.close(figure)
    return True


def main(argv: list[str] | None = None) -> int:
    """Print the combined table and write the summaries; 1 if a result file is missing."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--scaling",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="controller result files taken at different --apps sizes",
    )
    args = parser.parse_args(argv)
    if args.scaling:
        points = scaling(args.scaling)
        SCALING_JSON.write_text(json.dumps({"points": points}, indent=2) + "\n")
        for point in points:
            print(json.dumps(point))
        if not plot(points):
            print("matplotlib is not installed: no plot", file=sys.stderr)
        return 0
    rows, problems = collect()
    print(write_summary(rows, problems))
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
