"""Several controller processes: each app has exactly one writer; a dead replica's apps move."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from appmanifests import NAMESPACE, application, configmap
from controllerprocess import ControllerProcess

from tether.controller.leases import LEASE_API, LEASE_PREFIX, shard_of

if TYPE_CHECKING:
    from conftest import Harness

APPS = 6


def on_revision(harness: Harness, sha: str) -> Any:
    return lambda a: harness.settled(a) and a["status"]["sync"].get("revision") == sha


async def test_two_replicas_share_apps_and_one_takes_over_when_the_other_dies(
    management: Harness, local_cluster: Any, tmp_path: Path
) -> None:
    harness = management
    replicas = [
        ControllerProcess(
            local_cluster.kubeconfig,
            tmp_path / f"replica-{shard}",
            ("--shards", "2", "--shard", str(shard), "--lease-seconds", "2"),
        ).start()
        for shard in (0, 1)
    ]
    try:
        names = [f"replica-app-{n}" for n in range(APPS)]
        sha = harness.repo.push(
            {f"{n}/cm.yaml": configmap("settings", "blue") for n in names}, "apps"
        )
        for name in names:
            await harness.client.apply(
                application(name, harness.repo.url_file, f"{name}-ns", path=name, automated={})
            )
        for name in names:
            await harness.wait_app(name, on_revision(harness, sha))

        # Each app was synced by the replica holding its shard, and by no other.
        started = [set(r.operations_started()) for r in replicas]
        keys = {f"{NAMESPACE}/{n}" for n in names}
        assert started[0] | started[1] == keys
        assert not started[0] & started[1]
        for shard, synced in enumerate(started):
            assert all(shard_of(key, 2) == shard for key in synced)
        leases = [
            await harness.client.get(LEASE_API, "Lease", f"{LEASE_PREFIX}{shard}", NAMESPACE)
            for shard in (0, 1)
        ]
        holders = [lease["spec"]["holderIdentity"] for lease in leases]
        assert holders[0] != holders[1]

        # Replica 0 dies: replica 1 takes its shard over and syncs its apps' next commit.
        replicas[0].kill()
        sha = harness.repo.push(
            {f"{n}/cm.yaml": configmap("settings", "green") for n in names}, "green"
        )
        for name in names:
            await harness.refresh(name)
        for name in names:
            await harness.wait_app(name, on_revision(harness, sha), seconds=45)
        taken_over = [k for k in replicas[1].operations_started() if shard_of(k, 2) == 0]
        assert set(taken_over) == {k for k in keys if shard_of(k, 2) == 0}
        lease = await harness.client.get(LEASE_API, "Lease", f"{LEASE_PREFIX}0", NAMESPACE)
        assert lease["spec"]["holderIdentity"] == holders[1]
        assert lease["spec"]["leaseTransitions"] >= 1
    finally:
        for replica in replicas:
            replica.stop()
