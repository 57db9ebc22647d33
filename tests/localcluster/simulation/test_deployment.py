"""Deployments: ReplicaSets, rollouts, scaling, strategies, pausing and deadlines."""

from __future__ import annotations

from typing import Any

import pytest
from tests.localcluster.simulation.harness import SimCluster, load

from tether.localcluster.simulation.rollout import fenceposts, scaled_value, template_hash

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"


def condition(obj: Obj, type_: str) -> Obj:
    found: Obj = next(c for c in obj["status"]["conditions"] if c["type"] == type_)
    return found


def replicasets(sim: SimCluster, app: str) -> list[Obj]:
    return [r for r in sim.list("ReplicaSet") if r["metadata"]["name"].startswith(f"{app}-")]


def pods(sim: SimCluster, app: str) -> list[Obj]:
    return [p for p in sim.list("Pod") if p["metadata"].get("labels", {}).get("app") == app]


def set_image(image: str) -> Any:
    def edit(obj: Obj) -> None:
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = image

    return edit


async def test_a_deployment_rolls_out(sim: SimCluster) -> None:
    await sim.create(load("deployment-web"))
    await sim.settle()
    deployment = sim.obj("Deployment", "web")
    status = deployment["status"]
    assert {
        k: status[k] for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    } == {
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
    }
    assert "unavailableReplicas" not in status
    assert status["observedGeneration"] == 1
    assert deployment["metadata"]["annotations"][REVISION] == "1"
    (rs,) = replicasets(sim, "web")
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["metadata"]["annotations"] == {
        REVISION: "1",
        "deployment.kubernetes.io/desired-replicas": "3",
        "deployment.kubernetes.io/max-replicas": "4",
    }
    owner = rs["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"], owner["blockOwnerDeletion"]) == (
        "Deployment",
        "web",
        True,
        True,
    )
    assert rs["status"] == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "observedGeneration": 1,
    }
    assert len(pods(sim, "web")) == 3
    assert all(p["metadata"]["labels"]["pod-template-hash"] == pod_hash for p in pods(sim, "web"))
    available = condition(deployment, "Available")
    assert (available["status"], available["reason"], available["message"]) == (
        "True",
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
    )
    progressing = condition(deployment, "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "True",
        "NewReplicaSetAvailable",
        f'ReplicaSet "web-{pod_hash}" has successfully progressed.',
    )


async def test_scaling_up_and_down(sim: SimCluster) -> None:
    await sim.create(load("deployment-web"))
    await sim.settle()
    await sim.change("Deployment", "web", lambda d: d["spec"].__setitem__("replicas", 5))
    await sim.settle()
    assert sim.obj("Deployment", "web")["status"]["availableReplicas"] == 5
    assert len(pods(sim, "web")) == 5
    await sim.change("Deployment", "web", lambda d: d["spec"].__setitem__("replicas", 1))
    await sim.settle()
    status = sim.obj("Deployment", "web")["status"]
    assert (status["replicas"], status["availableReplicas"]) == (1, 1)
    assert len(pods(sim, "web")) == 1
    assert len(replicasets(sim, "web")) == 1


async def test_a_rolling_update_keeps_old_and_new_replicasets(sim: SimCluster) -> None:
    await sim.create(load("deployment-web"))
    await sim.settle()
    await sim.change("Deployment", "web", set_image("nginx:1.28"))
    await sim.settle()
    deployment = sim.obj("Deployment", "web")
    assert deployment["metadata"]["annotations"][REVISION] == "2"
    assert deployment["status"]["updatedReplicas"] == 3
    assert deployment["status"]["observedGeneration"] == 2
    by_revision = {r["metadata"]["annotations"][REVISION]: r for r in replicasets(sim, "web")}
    assert set(by_revision) == {"1", "2"}
    assert by_revision["1"]["spec"]["replicas"] == 0
    assert by_revision["2"]["spec"]["replicas"] == 3
    images = {p["spec"]["containers"][0]["image"] for p in pods(sim, "web")}
    assert images == {"nginx:1.28"}
    assert condition(deployment, "Progressing")["reason"] == "NewReplicaSetAvailable"


async def test_a_rolling_update_honours_surge_and_unavailability(timed: SimCluster) -> None:
    deployment = load("deployment-web")
    deployment["spec"]["replicas"] = 4
    deployment["spec"]["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    await timed.create(deployment)
    await timed.settle()
    await timed.advance(1)
    assert timed.obj("Deployment", "web")["status"]["availableReplicas"] == 4
    await timed.change("Deployment", "web", set_image("nginx:1.28"))
    await timed.settle()
    for _ in range(12):
        live = pods(timed, "web")
        ready = [
            p
            for p in live
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p["status"].get("conditions", [])
            )
        ]
        assert len(live) <= 5
        assert len(ready) >= 4
        await timed.advance(1)
    status = timed.obj("Deployment", "web")["status"]
    assert (status["updatedReplicas"], status["availableReplicas"], status["replicas"]) == (4, 4, 4)


async def test_the_progressing_condition_reports_the_update(timed: SimCluster) -> None:
    await timed.create(load("deployment-web"))
    await timed.settle()
    deployment = timed.obj("Deployment", "web")
    progressing = condition(deployment, "Progressing")
    assert progressing["reason"] in ("NewReplicaSetCreated", "ReplicaSetUpdated")
    assert condition(deployment, "Available")["status"] == "False"
    assert condition(deployment, "Available")["reason"] == "MinimumReplicasUnavailable"
    assert deployment["status"]["unavailableReplicas"] == 3
    await timed.advance(1)
    assert (
        condition(timed.obj("Deployment", "web"), "Progressing")["reason"]
        == "NewReplicaSetAvailable"
    )


async def test_recreate_stops_old_pods_before_starting_new_ones(sim: SimCluster) -> None:
    await sim.create(load("deployment-recreate"))
    await sim.settle()
    old = {p["metadata"]["name"] for p in pods(sim, "db-migrator")}
    _, watch = sim.cluster.store.watch(sim.rtype("Pod"))
    await sim.change("Deployment", "db-migrator", set_image("registry.example.com/migrator:2.0"))
    await sim.settle()
    events = []
    while (event := await watch.next(0)) is not None:
        events.append(event)
    watch.close()
    last_old_delete = max(i for i, e in enumerate(events) if e.type == "DELETED" and e.name in old)
    first_new = min(i for i, e in enumerate(events) if e.type == "ADDED")
    assert last_old_delete < first_new
    status = sim.obj("Deployment", "db-migrator")["status"]
    assert (status["updatedReplicas"], status["availableReplicas"]) == (2, 2)


async def test_a_paused_deployment_does_not_roll_out(sim: SimCluster) -> None:
    await sim.create(load("deployment-web"))
    await sim.settle()
    await sim.change("Deployment", "web", lambda d: d["spec"].__setitem__("paused", True))
    await sim.settle()
    progressing = condition(sim.obj("Deployment", "web"), "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "Unknown",
        "DeploymentPaused",
        "Deployment is paused",
    )
    await sim.change("Deployment", "web", set_image("nginx:1.28"))
    await sim.change("Deployment", "web", lambda d: d["spec"].__setitem__("replicas", 4))
    await sim.settle()
    assert len(replicasets(sim, "web")) == 1
    assert {p["spec"]["containers"][0]["image"] for p in pods(sim, "web")} == {"nginx:1.27"}
    assert len(pods(sim, "web")) == 4
    await sim.change("Deployment", "web", lambda d: d["spec"].__setitem__("paused", False))
    await sim.settle()
    deployment = sim.obj("Deployment", "web")
    assert {p["spec"]["containers"][0]["image"] for p in pods(sim, "web")} == {"nginx:1.28"}
    assert condition(deployment, "Progressing")["reason"] == "NewReplicaSetAvailable"


async def test_a_stuck_rollout_exceeds_its_progress_deadline(sim: SimCluster) -> None:
    await sim.create(load("deployment-badimage"))
    await sim.settle()
    progressing = condition(sim.obj("Deployment", "broken"), "Progressing")
    assert progressing["status"] == "True"
    await sim.advance(20)
    assert condition(sim.obj("Deployment", "broken"), "Progressing")["status"] == "True"
    await sim.advance(12)
    progressing = condition(sim.obj("Deployment", "broken"), "Progressing")
    (rs,) = replicasets(sim, "broken")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        f'ReplicaSet "{rs["metadata"]["name"]}" has timed out progressing.',
    )
    assert all(
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
        for p in pods(sim, "broken")
    )


async def test_a_fixed_image_recovers_a_stuck_rollout(sim: SimCluster) -> None:
    await sim.create(load("deployment-badimage"))
    await sim.settle()
    await sim.advance(31)
    await sim.change("Deployment", "broken", set_image("nginx:1.27"))
    await sim.settle()
    deployment = sim.obj("Deployment", "broken")
    assert condition(deployment, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert condition(deployment, "Available")["status"] == "True"


async def test_old_replicasets_beyond_the_history_limit_are_deleted(sim: SimCluster) -> None:
    deployment = load("deployment-web")
    deployment["spec"]["revisionHistoryLimit"] = 1
    deployment["spec"]["replicas"] = 1
    await sim.create(deployment)
    await sim.settle()
    for version in ("1.28", "1.29", "1.30"):
        await sim.change("Deployment", "web", set_image(f"nginx:{version}"))
        await sim.settle()
    revisions = sorted(int(r["metadata"]["annotations"][REVISION]) for r in replicasets(sim, "web"))
    assert revisions == [3, 4]


async def test_a_rollback_reuses_the_old_replicaset_as_a_new_revision(sim: SimCluster) -> None:
    await sim.create(load("deployment-web"))
    await sim.settle()
    await sim.change("Deployment", "web", set_image("nginx:1.28"))
    await sim.settle()
    await sim.change("Deployment", "web", set_image("nginx:1.27"))
    await sim.settle()
    by_revision = {r["metadata"]["annotations"][REVISION]: r for r in replicasets(sim, "web")}
    assert set(by_revision) == {"2", "3"}
    assert by_revision["3"]["spec"]["replicas"] == 3
    assert sim.obj("Deployment", "web")["metadata"]["annotations"][REVISION] == "3"


async def test_min_ready_seconds_delays_availability(timed: SimCluster) -> None:
    deployment = load("deployment-web")
    deployment["spec"]["minReadySeconds"] = 10
    await timed.create(deployment)
    await timed.settle()
    await timed.advance(1)
    status = timed.obj("Deployment", "web")["status"]
    assert (status["readyReplicas"], status.get("availableReplicas", 0)) == (3, 0)
    await timed.advance(10)
    assert timed.obj("Deployment", "web")["status"]["availableReplicas"] == 3


async def test_deleting_a_deployment_collects_its_replicasets_and_pods(sim: SimCluster) -> None:
    await sim.create(load("deployment-web"))
    await sim.settle()
    await sim.delete("Deployment", "web")
    await sim.settle()
    assert replicasets(sim, "web") == []
    assert pods(sim, "web") == []


@pytest.mark.parametrize(
    ("value", "total", "up", "expected"),
    [
        (1, 10, True, 1),
        ("25%", 10, True, 3),
        ("25%", 10, False, 2),
        ("50%", 3, False, 1),
        ("0%", 5, True, 0),
    ],
)
def test_scaled_values_round_as_kubernetes_does(
    value: Any, total: int, up: bool, expected: int
) -> None:
    assert scaled_value(value, total, up) == expected


@pytest.mark.parametrize(
    ("rolling", "replicas", "expected"),
    [
        ({}, 4, (1, 1)),
        ({"maxSurge": 0, "maxUnavailable": 0}, 4, (0, 1)),
        ({"maxSurge": "50%", "maxUnavailable": "10%"}, 3, (2, 0)),
    ],
)
def test_fenceposts(rolling: Obj, replicas: int, expected: tuple[int, int]) -> None:
    spec = {"replicas": replicas, "strategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}
    assert fenceposts(spec) == expected


def test_the_template_hash_is_stable_and_safe() -> None:
    template = load("deployment-web")["spec"]["template"]
    assert template_hash(template) == template_hash(dict(reversed(list(template.items()))))
    assert template_hash(template) != template_hash(template, 1)
    assert set(template_hash(template)) <= set("bcdfghjklmnpqrstvwxz2456789")


async def test_scaling_during_a_rollout_is_spread_in_proportion(sim: SimCluster) -> None:
    deployment = load("deployment-badimage")
    deployment["metadata"]["name"] = "web"
    deployment["spec"]["replicas"] = 10
    deployment["spec"]["progressDeadlineSeconds"] = 600
    deployment["spec"]["selector"]["matchLabels"] = {"app": "web"}
    deployment["spec"]["template"]["metadata"]["labels"] = {"app": "web"}
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    await sim.create(deployment)
    await sim.settle()
    # A broken new version: the rollout stops with old and new ReplicaSets both running.
    await sim.change("Deployment", "web", set_image("nginx:doesnotexist"))
    await sim.settle()
    sizes = {
        r["metadata"]["annotations"][REVISION]: r["spec"]["replicas"]
        for r in replicasets(sim, "web")
    }
    assert sizes == {"1": 8, "2": 5}  # 10 + maxSurge 3 = 13 Pods, 8 of them available
    await sim.change("Deployment", "web", lambda d: d["spec"].__setitem__("replicas", 20))
    await sim.settle()
    after = {
        r["metadata"]["annotations"][REVISION]: r["spec"]["replicas"]
        for r in replicasets(sim, "web")
    }
    assert sum(after.values()) == 25  # 20 + maxSurge 5
    assert after["1"] > sizes["1"]
    assert after["2"] > sizes["2"]
    assert all(
        r["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "20"
        for r in replicasets(sim, "web")
    )


async def test_a_deployment_recreated_after_an_orphaning_delete_adopts_what_it_left(
    sim: SimCluster,
) -> None:
    await sim.create(load("deployment-web"))
    await sim.settle()
    before = {p["metadata"]["name"] for p in pods(sim, "web")}
    (rs,) = replicasets(sim, "web")
    await sim.delete("Deployment", "web", propagation="Orphan")
    await sim.settle()
    assert "ownerReferences" not in sim.obj("ReplicaSet", rs["metadata"]["name"])["metadata"]
    await sim.create(load("deployment-web"))
    await sim.settle()
    (adopted,) = replicasets(sim, "web")
    assert adopted["metadata"]["name"] == rs["metadata"]["name"]
    owner = adopted["metadata"]["ownerReferences"][0]
    assert owner["uid"] == sim.obj("Deployment", "web")["metadata"]["uid"]
    assert {p["metadata"]["name"] for p in pods(sim, "web")} == before
    assert sim.obj("Deployment", "web")["status"]["availableReplicas"] == 3


async def test_a_replicaset_adopts_matching_orphan_pods(sim: SimCluster) -> None:
    orphan = load("pod-basic")
    orphan["metadata"]["labels"] = {"app": "web"}
    await sim.create(orphan)
    replicaset = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            **{
                k: v
                for k, v in load("deployment-web")["spec"].items()
                if k in ("selector", "template")
            },
        },
    }
    await sim.create(replicaset)
    await sim.settle()
    names = {p["metadata"]["name"] for p in pods(sim, "web")}
    assert len(names) == 2
    assert "basic" in names
    assert sim.obj("Pod", "basic")["metadata"]["ownerReferences"][0]["name"] == "web"
