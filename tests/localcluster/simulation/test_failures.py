"""Failure triggers: bad images, crash loops, failing and never-ready containers."""

from __future__ import annotations

from typing import Any

import pytest
from tests.localcluster.simulation.harness import SimCluster, load

from tether.localcluster.simulation import FailureRules, Fate
from tether.localcluster.simulation.failures import RulesError

Obj = dict[str, Any]


def state(pod: Obj) -> Obj:
    result: Obj = pod["status"]["containerStatuses"][0]
    return result


def ready(pod: Obj) -> str:
    return next(c["status"] for c in pod["status"]["conditions"] if c["type"] == "Ready")


async def test_a_missing_image_fails_to_pull_then_backs_off(timed: SimCluster) -> None:
    await timed.create(load("pod-imagepullbackoff"))
    await timed.settle()
    pod = timed.obj("Pod", "bad-image")
    waiting = state(pod)["state"]["waiting"]
    assert waiting["reason"] == "ErrImagePull"
    assert waiting["message"] == (
        "rpc error: code = NotFound desc = failed to pull and unpack image "
        '"docker.io/library/nginx:doesnotexist": failed to resolve reference '
        '"docker.io/library/nginx:doesnotexist": docker.io/library/nginx:doesnotexist: not found'
    )
    await timed.advance(1)
    pod = timed.obj("Pod", "bad-image")
    waiting = state(pod)["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"
    assert waiting["message"].startswith(
        'Back-off pulling image "nginx:doesnotexist": ErrImagePull: '
    )
    assert pod["status"]["phase"] == "Pending"
    assert ready(pod) == "False"
    assert state(pod)["imageID"] == ""
    await timed.advance(60)
    assert timed.obj("Pod", "bad-image")["status"]["phase"] == "Pending"


async def test_a_crash_loop_restarts_with_growing_back_off(timed: SimCluster) -> None:
    await timed.create(load("pod-crashloop"))
    await timed.settle()
    assert "running" in state(timed.obj("Pod", "crasher"))["state"]
    seen: list[tuple[str, int]] = []
    for _ in range(12):
        await timed.advance(1)
        status = state(timed.obj("Pod", "crasher"))
        seen.append((next(iter(status["state"])), status["restartCount"]))
    pod = timed.obj("Pod", "crasher")
    status = state(pod)
    assert pod["status"]["phase"] == "Running"
    assert ready(pod) == "False"
    assert status["restartCount"] >= 3
    restarts = [count for _, count in seen]
    assert restarts == sorted(restarts)
    assert ("waiting", 1) in seen
    last = status["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (1, "Error")
    # Back-offs double: 1 s, 2 s, 4 s... so the waits get longer.
    waits = [sum(1 for s in seen if s == ("waiting", n)) for n in (1, 2, 3)]
    assert waits[0] <= waits[1] <= waits[2]


async def test_crash_loop_back_off_message(timed: SimCluster) -> None:
    created = await timed.create(load("pod-crashloop"))
    await timed.settle()
    await timed.advance(1)
    waiting = state(timed.obj("Pod", "crasher"))["state"]["waiting"]
    assert waiting["reason"] == "CrashLoopBackOff"
    uid = created.metadata["uid"]
    assert waiting["message"] == (
        f"back-off 1s restarting failed container=app pod=crasher_default({uid})"
    )


async def test_a_failing_container_fails_a_never_restarted_pod(sim: SimCluster) -> None:
    await sim.create(load("pod-fail"))
    await sim.settle()
    pod = sim.obj("Pod", "failing")
    assert pod["status"]["phase"] == "Failed"
    terminated = state(pod)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")
    reason = next(c["reason"] for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert reason == "PodFailed"


async def test_an_unready_container_runs_but_is_never_ready(timed: SimCluster) -> None:
    await timed.create(load("pod-unready"))
    await timed.settle()
    await timed.advance(30)
    pod = timed.obj("Pod", "never-ready")
    assert pod["status"]["phase"] == "Running"
    assert ready(pod) == "False"
    assert state(pod)["started"] is True


async def test_the_configmap_adds_rules_live(sim: SimCluster) -> None:
    await sim.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "tether-simulation"},
            "data": {"unreadyImages": "registry.example.com/slow:*", "failImages": "*:broken"},
        },
        "kube-system",
    )
    pod = load("pod-basic")
    pod["spec"]["containers"][0]["image"] = "registry.example.com/slow:2"
    await sim.create(pod)
    await sim.settle()
    assert ready(sim.obj("Pod", "basic")) == "False"
    await sim.delete("ConfigMap", "tether-simulation", "kube-system")
    await sim.settle()
    assert ready(sim.obj("Pod", "basic")) == "True"


async def test_an_unreadable_configmap_keeps_the_rules(sim: SimCluster) -> None:
    await sim.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "tether-simulation"},
            "data": {"explodingImages": "*"},
        },
        "kube-system",
    )
    await sim.settle()
    assert sim.simulation.rules == FailureRules()


@pytest.mark.parametrize(
    ("container", "fate"),
    [
        ({"image": "nginx:doesnotexist"}, Fate.PULL_ERROR),
        ({"image": "ghcr.io/acme/app:doesnotexist"}, Fate.PULL_ERROR),
        ({"image": "nginx:1.27"}, Fate.RUN),
        (
            {"image": "nginx", "env": [{"name": "TETHER_SIMULATE", "value": "crashloop"}]},
            Fate.CRASHLOOP,
        ),
        ({"image": "nginx", "env": [{"name": "TETHER_SIMULATE", "value": "fail"}]}, Fate.FAIL),
        (
            {"image": "nginx", "env": [{"name": "TETHER_SIMULATE", "value": "unready"}]},
            Fate.UNREADY,
        ),
        ({"image": "nginx", "env": [{"name": "TETHER_SIMULATE", "value": "other"}]}, Fate.RUN),
        (
            {"image": "nginx:doesnotexist", "env": [{"name": "TETHER_SIMULATE", "value": "fail"}]},
            Fate.PULL_ERROR,
        ),
    ],
)
def test_fates(container: Obj, fate: Fate) -> None:
    assert FailureRules().fate(container) is fate


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"crashImages": "*"}, "unknown key 'crashImages'"),
        ({"failImages": 3}, "failImages must be a string"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(data: Obj, error: str) -> None:
    with pytest.raises(RulesError, match=error):
        FailureRules.from_configmap(data)


def test_rules_from_a_configmap() -> None:
    rules = FailureRules.from_configmap({"crashLoopImages": "a:1, b:*\nc:3"})
    assert rules.fate({"image": "b:7"}) is Fate.CRASHLOOP
    assert rules.fate({"image": "c:3"}) is Fate.CRASHLOOP
    assert rules.fate({"image": "d:1"}) is Fate.RUN
