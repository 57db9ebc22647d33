"""Diff benchmark: a cold comparison of 2,000 mixed objects vs a cached no-change refresh.

Run: .venv/bin/python -m bench.diff  (prints a table, writes bench/results/diff.json)

The objects are what a medium application fleet looks like to the comparer:
Deployments with server defaults and managedFields, Services with assigned cluster
IPs, ConfigMaps and Secrets; one object in ten has drifted. The target is a
no-change pass over all 2,000 objects in under 100 ms. Two more rows show the cost of
a jq ignore rule matching every object (each evaluation is a round trip to the
bounded jq worker) and that the cache removes it again.
"""

from __future__ import annotations

import base64
import json
import platform
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

from tether.diff import ChangeSet, Differ, DiffState, JqRunner, parse_ignore_differences

OBJECTS = 2_000
REFRESHES = 7
TARGET_MS = 100.0
RESULTS = Path(__file__).resolve().parent / "results" / "diff.json"


def deployment(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
    name = f"web-{i}"
    container = {
        "name": "web",
        "image": "nginx:1.25",
        "ports": [{"containerPort": 8080}],
        "env": [{"name": "MODE", "value": "prod"}, {"name": "INDEX", "value": str(i)}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
    }
    desired = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "bench", "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container]},
            },
        },
    }
    live_container = {
        **container,
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    live = {
        **desired,
        "metadata": {**meta(desired, i), "generation": 3},
        "spec": {
            **desired["spec"],
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "strategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [live_container],
                    "restartPolicy": "Always",
                    "dnsPolicy": "ClusterFirst",
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
        "status": {"replicas": 2, "readyReplicas": 2, "observedGeneration": 3},
    }
    live["metadata"]["managedFields"] = [
        {
            "manager": "tether",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"web"}': {
                                    ".": {},
                                    "f:name": {},
                                    "f:image": {},
                                    "f:env": {
                                        'k:{"name":"MODE"}': {".": {}, "f:value": {}},
                                        'k:{"name":"INDEX"}': {".": {}, "f:value": {}},
                                    },
                                }
                            }
                        },
                    },
                },
            },
        }
    ]
    return desired, live


def meta(desired: dict[str, Any], i: int) -> dict[str, Any]:
    return {
        **desired["metadata"],
        "uid": f"00000000-0000-4000-8000-{i:012d}",
        "resourceVersion": str(1000 + i),
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "annotations": {"argocd.argoproj.io/tracking-id": f"bench:x:bench/{i}"},
    }


def service(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
    desired = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"svc-{i}", "namespace": "bench"},
        "spec": {"selector": {"app": f"web-{i}"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    live = {
        **desired,
        "metadata": meta(desired, i),
        "spec": {
            **desired["spec"],
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}],
            "clusterIP": f"10.96.{i // 250}.{i % 250}",
            "clusterIPs": [f"10.96.{i // 250}.{i % 250}"],
            "ipFamilies": ["IPv4"],
            "type": "ClusterIP",
        },
    }
    return desired, live


def config_map(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
    desired = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i}", "namespace": "bench"},
        "data": {f"key-{k}": f"value-{i}-{k}" for k in range(8)},
    }
    return desired, {**desired, "metadata": meta(desired, i)}


def secret(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"secret-{i}", "namespace": "bench"},
        "stringData": {"password": f"pw-{i}", "user": "app"},
    }
    data = {k: base64.b64encode(v.encode()).decode() for k, v in desired["stringData"].items()}
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": meta(desired, i), "data": data}
    return desired, live


def fleet() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    makers = (deployment, service, config_map, secret)
    desired, live = [], []
    for i in range(OBJECTS):
        want, have = makers[i % len(makers)](i)
        if i % 10 == 0:  # one in ten has drifted
            have = json.loads(json.dumps(have))
            have["metadata"].setdefault("labels", {})["drifted"] = "true"
            have["metadata"]["managedFields"] = [
                {
                    "manager": "tether",
                    "operation": "Apply",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {"f:drifted": {}}}},
                }
            ]
        desired.append(want)
        live.append(have)
    return desired, live


def timed(differ: Differ, desired: list[Any], live: list[Any]) -> tuple[float, ChangeSet]:
    start = time.perf_counter()
    changes = differ.compare_app(desired, live)
    return (time.perf_counter() - start) * 1000, changes


#: A system-wide jq rule that matches every object: each one goes through the jq worker.
JQ_RULE = [{"group": "*", "kind": "*", "jqPathExpressions": ['.metadata.annotations["x"]']}]


def cache_memory(desired: list[Any], live: list[Any]) -> float:
    """Bytes held per object by a differ's caches after one comparison of the fleet."""
    tracemalloc.start()
    try:
        differ = Differ()
        differ.compare_app(desired, live)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return held / OBJECTS


def main() -> None:
    desired, live = fleet()
    cold_runs = []
    for _ in range(3):
        cold_ms, changes = timed(Differ(), desired, live)
        cold_runs.append(cold_ms)
    differ = Differ()
    timed(differ, desired, live)
    warm_runs = [timed(differ, desired, live)[0] for _ in range(REFRESHES)]
    with JqRunner() as runner:
        jq_differ = Differ(ignore=parse_ignore_differences(JQ_RULE), jq=runner)
        jq_cold, _ = timed(jq_differ, desired, live)
        jq_warm = statistics.median(timed(jq_differ, desired, live)[0] for _ in range(REFRESHES))
    memory = cache_memory(desired, live)
    out_of_sync = len(changes.with_state(DiffState.OUT_OF_SYNC))
    cold, warm = statistics.median(cold_runs), statistics.median(warm_runs)
    rows = [
        ("cold compare (median of 3)", cold, cold * 1000 / OBJECTS),
        (f"cached no-change refresh (median of {REFRESHES})", warm, warm * 1000 / OBJECTS),
        ("cold compare, jq rule on every object", jq_cold, jq_cold * 1000 / OBJECTS),
        ("cached refresh, jq rule on every object", jq_warm, jq_warm * 1000 / OBJECTS),
    ]
    print(f"diff benchmark: {OBJECTS} objects, {out_of_sync} out of sync\n")
    print(f"{'pass':<44} {'total ms':>10} {'µs/object':>10}")
    for label, total, per_object in rows:
        print(f"{label:<44} {total:>10.1f} {per_object:>10.1f}")
    print(f"\ncache memory: {memory / 1024:.1f} KiB per object (forms and results)")
    print(f"speed-up {cold / warm:.1f}x; target < {TARGET_MS:.0f} ms: ", end="")
    print("met" if warm < TARGET_MS else "MISSED")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "objects": OBJECTS,
                "out_of_sync": out_of_sync,
                "cold_ms": round(cold, 2),
                "cached_no_change_ms": round(warm, 2),
                "cold_us_per_object": round(cold * 1000 / OBJECTS, 2),
                "cached_us_per_object": round(warm * 1000 / OBJECTS, 2),
                "cache_kib_per_object": round(memory / 1024, 2),
                "jq_rule_cold_ms": round(jq_cold, 2),
                "jq_rule_cached_ms": round(jq_warm, 2),
                "target_ms": TARGET_MS,
                "target_met": warm < TARGET_MS,
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
