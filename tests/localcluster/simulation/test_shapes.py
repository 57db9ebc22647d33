"""The objects the simulation writes, compared field by field with real ones.

Each file under ``testdata/localcluster/simulation/reference`` holds what a real cluster
reports for a fixture manifest; placeholders (``<time>``, ``<ip>``...) stand for values
that change from run to run. Keys must be the same, lists as long, values equal.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import yaml
from tests.localcluster.simulation.harness import TESTDATA, SimCluster, load

Obj = dict[str, Any]
REFERENCE = TESTDATA / "reference"
PLACEHOLDERS = {
    "<time>": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
    "<ip>": r"\d+\.\d+\.\d+\.\d+",
    "<uid>": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "<hex>": r"[0-9a-f]{64}",
    "<name>": r"[a-z0-9]([-a-z0-9]*[a-z0-9])?",
    "<int>": r"\d+",
}


def _pattern(text: str) -> re.Pattern[str]:
    parts = re.split("(" + "|".join(map(re.escape, PLACEHOLDERS)) + ")", text)
    return re.compile("".join(PLACEHOLDERS.get(p, re.escape(p)) for p in parts))


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` departs from the reference ``expected``."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems = [f"{path}.{k}: missing" for k in expected if k not in actual]
        problems += [f"{path}.{k}: unexpected" for k in actual if k not in expected]
        for key in expected.keys() & actual.keys():
            problems += differences(expected[key], actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in differences(e, a, f"{path}[{i}]")
        ]
    if isinstance(expected, str) and "<" in expected:
        if expected == "<int>" and isinstance(actual, int):
            return []
        if expected == "<ip>" and isinstance(actual, str):
            try:
                ipaddress.ip_address(actual)
            except ValueError:
                return [f"{path}: {actual!r} is not an address"]
            return []
        if isinstance(actual, str) and _pattern(expected).fullmatch(actual):
            return []
        return [f"{path}: {actual!r} does not match {expected!r}"]
    if expected != actual or type(expected) is not type(actual):
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def compare(reference: str, obj: Obj) -> None:
    expected = yaml.safe_load((REFERENCE / f"{reference}.yaml").read_text())
    selected = {
        k: {f: obj[k].get(f) for f in v} if k == "metadata" else obj[k] for k, v in expected.items()
    }
    problems = differences(expected, selected)
    assert not problems, "\n".join(problems)


Produce = Callable[[SimCluster], Awaitable[Obj]]


async def run(sim: SimCluster, seconds: int) -> None:
    """Let ``seconds`` of simulated time pass, one second at a time."""
    await sim.settle()
    for _ in range(seconds):
        await sim.advance(1)


async def _pod(sim: SimCluster, fixture: str, seconds: float) -> Obj:
    created = await sim.create(load(fixture))
    await sim.settle()
    await sim.advance(seconds)
    return sim.obj("Pod", created.metadata["name"])


async def _deployment(sim: SimCluster) -> Obj:
    await sim.create(load("deployment-web"))
    await run(sim, 2)
    return sim.obj("Deployment", "web")


async def _replicaset(sim: SimCluster) -> Obj:
    await sim.create(load("deployment-web"))
    await run(sim, 2)
    (rs,) = sim.list("ReplicaSet")
    return rs


async def _job(sim: SimCluster) -> Obj:
    await sim.create(load("job-pi"))
    await run(sim, 5)
    return sim.obj("Job", "pi")


async def _statefulset(sim: SimCluster) -> Obj:
    await sim.create(load("statefulset-db"))
    await run(sim, 4)
    return sim.obj("StatefulSet", "db")


async def _daemonset(sim: SimCluster) -> Obj:
    await sim.create(load("daemonset-agent"))
    await run(sim, 2)
    return sim.obj("DaemonSet", "agent")


async def _claim(sim: SimCluster) -> Obj:
    await sim.create(load("persistentvolumeclaim-data"))
    await run(sim, 1)
    return sim.obj("PersistentVolumeClaim", "data")


async def _endpointslice(sim: SimCluster) -> Obj:
    service = load("service-web")
    service["spec"]["selector"] = {"app": "basic"}
    await sim.create(service)
    await sim.create(load("pod-basic"))
    await run(sim, 2)
    (endpoint_slice,) = sim.list("EndpointSlice")
    return endpoint_slice


CASES: dict[str, Produce] = {
    "pod-running": lambda sim: _pod(sim, "pod-basic", 2),
    "pod-imagepullbackoff": lambda sim: _pod(sim, "pod-imagepullbackoff", 2),
    "pod-crashloopbackoff": lambda sim: _pod(sim, "pod-crashloop", 1.5),
    "deployment-available": _deployment,
    "replicaset-available": _replicaset,
    "job-complete": _job,
    "statefulset-ready": _statefulset,
    "daemonset-ready": _daemonset,
    "persistentvolumeclaim-bound": _claim,
    "endpointslice-ready": _endpointslice,
}


@pytest.mark.parametrize("reference", sorted(CASES))
async def test_objects_are_shaped_like_real_ones(timed: SimCluster, reference: str) -> None:
    compare(reference, await CASES[reference](timed))


def test_every_reference_is_checked() -> None:
    assert {p.stem for p in REFERENCE.glob("*.yaml")} == set(CASES)


def test_the_comparison_reports_what_differs() -> None:
    assert differences({"a": "<int>", "b": ["x"]}, {"a": 3, "b": ["y"], "c": 1}) == [
        ".c: unexpected",
        ".b[0]: expected 'x', got 'y'",
    ] or sorted(differences({"a": "<int>", "b": ["x"]}, {"a": 3, "b": ["y"], "c": 1})) == sorted(
        [".c: unexpected", ".b[0]: expected 'x', got 'y'"]
    )
