"""Local-cluster merge benchmark: schemas, strategic merge patch, server-side apply, OpenAPI.

Run: .venv/bin/python -m bench.localcluster_merge  (prints a table, writes
bench/results/localcluster_merge.json)

The local cluster's target is 500 server-side applies/s on 2 cores including HTTP and
fsync, so the apply itself must cost well under 1 ms of CPU. The object is a typical
Deployment as it lives in a cluster: server defaults, two containers with ports, env,
probes and resources, and the managedFields of earlier writers. Each row is the CPU time
(``time.process_time``) per operation, median of several rounds.
"""

from __future__ import annotations

import copy
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tether.localcluster.fieldmanager import (
    ApplyConflictError,
    record_update,
    server_side_apply,
)
from tether.localcluster.openapi import OpenAPIDocuments
from tether.localcluster.resources import BUILTIN
from tether.localcluster.schema import SchemaRegistry
from tether.localcluster.strategic import create_two_way_merge_patch, strategic_merge_patch
from tether.localcluster.validation import FieldValidation, validate

RESULTS = Path(__file__).resolve().parent / "results" / "localcluster_merge.json"
ROUNDS = 5
TARGET_APPLY_US = 1000.0
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def container(name: str, image: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "ports": [{"containerPort": port, "name": "http"}],
        "env": [{"name": "MODE", "value": "production"}, {"name": "LOG_LEVEL", "value": "info"}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 5},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
    }


def configuration(image: str = "shop:1.4.2", replicas: int = 3) -> dict[str, Any]:
    """What a user applies: a Deployment with an app and a proxy container."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "shop",
            "namespace": "prod",
            "labels": {"app": "shop", "tier": "web"},
            "annotations": {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:prod/shop"},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "shop"}},
            "template": {
                "metadata": {"labels": {"app": "shop", "tier": "web"}},
                "spec": {
                    "containers": [
                        container("shop", image, 8080),
                        container("proxy", "envoy:1.30", 9901),
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": "shop"}}],
                },
            },
        },
    }


def with_server_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as stored: server-set metadata, defaults and status."""
    live = copy.deepcopy(obj)
    live["metadata"].update(
        uid="5d2c1b8e-0000-4000-8000-000000000001",
        resourceVersion="1042",
        generation=4,
        creationTimestamp="2026-01-01T00:00:00Z",
    )
    spec = live["spec"]
    spec.update(progressDeadlineSeconds=600, revisionHistoryLimit=10)
    spec["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    pod = spec["template"]["spec"]
    pod.update(dnsPolicy="ClusterFirst", restartPolicy="Always", schedulerName="default-scheduler")
    for c in pod["containers"]:
        c.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log")
        for p in c["ports"]:
            p["protocol"] = "TCP"
    live["status"] = {"replicas": 3, "readyReplicas": 3, "observedGeneration": 4}
    return live


def cpu_us(operation: Callable[[], object], number: int) -> float:
    """Median CPU microseconds per call over ``ROUNDS`` rounds of ``number`` calls."""
    samples = []
    for _ in range(ROUNDS):
        start = time.process_time()
        for _ in range(number):
            operation()
        samples.append((time.process_time() - start) / number * 1e6)
    return statistics.median(samples)


def conflicting_apply(live: dict[str, Any], schema: Any) -> None:
    try:
        server_side_apply(live, configuration(replicas=9), manager="other", schema=schema, now=NOW)
    except ApplyConflictError:
        return
    raise AssertionError("expected a conflict")


def cold_start_ms() -> float:
    """A fresh interpreter: import, parse the definitions, first Deployment lookup and walk."""
    code = (
        "import time; t = time.perf_counter();"
        "from tether.localcluster.schema import SchemaRegistry;"
        "s = SchemaRegistry().lookup('apps/v1', 'Deployment');"
        "s.field('spec').field('template').field('spec').field('containers').items();"
        "print((time.perf_counter() - t) * 1000)"
    )
    runs = [
        float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(3)
    ]
    return statistics.median(runs)


def main() -> None:
    registry = SchemaRegistry()
    schema = registry.lookup("apps/v1", "Deployment")
    config = configuration()
    created = server_side_apply(None, config, manager="argocd-controller", schema=schema, now=NOW)
    live = with_server_fields(created)
    live = record_update(
        live, with_server_fields(created), manager="kube-controller-manager", schema=schema, now=NOW
    )
    changed = configuration(image="shop:1.4.3")
    image_patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "shop", "image": "shop:1.4.3"}]}}}
    }
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    docs = OpenAPIDocuments(registry, lambda: BUILTIN)

    rows: list[tuple[str, float, int]] = [
        (
            "server-side apply: create",
            cpu_us(
                lambda: server_side_apply(None, config, manager="a", schema=schema, now=NOW), 500
            ),
            500,
        ),
        (
            "server-side apply: unchanged re-apply",
            cpu_us(
                lambda: server_side_apply(
                    live, config, manager="argocd-controller", schema=schema, now=NOW
                ),
                500,
            ),
            500,
        ),
        (
            "server-side apply: image change",
            cpu_us(
                lambda: server_side_apply(
                    live, changed, manager="argocd-controller", schema=schema, now=NOW
                ),
                500,
            ),
            500,
        ),
        (
            "server-side apply: conflict (409)",
            cpu_us(lambda: conflicting_apply(live, schema), 500),
            500,
        ),
        (
            "server-side apply: forced takeover",
            cpu_us(
                lambda: server_side_apply(
                    live,
                    configuration(replicas=9),
                    manager="other",
                    schema=schema,
                    now=NOW,
                    force=True,
                ),
                500,
            ),
            500,
        ),
        (
            "update recorded (kubectl scale)",
            cpu_us(
                lambda: record_update(
                    live, scaled, manager="kubectl-scale", schema=schema, now=NOW
                ),
                500,
            ),
            500,
        ),
        (
            "strategic merge patch: image",
            cpu_us(lambda: strategic_merge_patch(live, image_patch, schema), 1000),
            1000,
        ),
        (
            "two-way merge patch",
            cpu_us(
                lambda: create_two_way_merge_patch(live, with_server_fields(changed), schema), 500
            ),
            500,
        ),
        (
            "validate (Strict)",
            cpu_us(lambda: validate(live, schema, FieldValidation.STRICT), 1000),
            1000,
        ),
        (
            "lookup Deployment schema",
            cpu_us(lambda: registry.lookup("apps/v1", "Deployment"), 10000),
            10000,
        ),
        (
            "OpenAPI v3 apps/v1 (cached)",
            cpu_us(lambda: docs.serve("/openapi/v3/apis/apps/v1"), 2000),
            2000,
        ),
    ]
    cold = {
        "schema cold start in a fresh process (ms)": cold_start_ms(),
    }
    start = time.process_time()
    OpenAPIDocuments(registry, lambda: BUILTIN).serve("/openapi/v3")
    cold["OpenAPI v3 index, all documents built (ms)"] = (time.process_time() - start) * 1000
    start = time.process_time()
    OpenAPIDocuments(registry, lambda: BUILTIN).serve("/openapi/v2")
    cold["OpenAPI v2 built (ms)"] = (time.process_time() - start) * 1000

    print(f"{'operation':<42} {'CPU µs/op':>10} {'ops/s (1 core)':>15}")
    for name, micros, _ in rows:
        print(f"{name:<42} {micros:>10.1f} {1e6 / micros:>15,.0f}")
    for name, millis in cold.items():
        print(f"{name:<42} {millis:>10.1f}")
    apply_us = max(m for n, m, _ in rows if n.startswith("server-side apply"))
    verdict = "met" if apply_us < TARGET_APPLY_US else "MISSED"
    budget = f"{TARGET_APPLY_US:.0f} µs budget"
    print(f"slowest server-side apply {apply_us:.0f} µs against a {budget}: {verdict}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
                "cpu_us_per_op": {name: round(micros, 1) for name, micros, _ in rows},
                "calls_per_round": {name: number for name, _, number in rows},
                "cold_ms": {name: round(millis, 1) for name, millis in cold.items()},
                "target_apply_us": TARGET_APPLY_US,
                "slowest_apply_us": round(apply_us, 1),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
