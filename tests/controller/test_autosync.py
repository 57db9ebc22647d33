"""End to end: Argo CD's automated-sync rules (once per revision and spec, self-heal back-off)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from appmanifests import NAMESPACE, application, conditions_of, configmap

from tether.model.wire import parse_time

if TYPE_CHECKING:
    from conftest import Harness

INVALID_NAME = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: Not_A_Valid_Name
data: {color: blue}
"""


def healed_times(harness: Harness, count: int) -> Callable[[dict[str, Any]], bool]:
    """Settled after the ``count``-th self-heal."""

    def check(app: dict[str, Any]) -> bool:
        sync = app["status"]["operationState"]["operation"]["sync"]
        return harness.settled(app) and sync.get("autoHealAttemptsCount") == count

    return check


def operations(app: dict[str, Any]) -> int:
    return len(app["status"].get("history") or [])


async def test_a_spec_change_syncs_again_at_the_same_revision(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push(
        {f"{name}/a/cm.yaml": configmap("from-a"), f"{name}/b/cm.yaml": configmap("from-b")},
        "two paths",
    )
    await harness.client.apply(
        application(name, harness.repo.url_file, ns, path=f"{name}/a", automated={"prune": True})
    )
    await harness.wait_app(name, harness.settled)
    await harness.client.patch(
        "argoproj.io/v1alpha1",
        "Application",
        name,
        NAMESPACE,
        {"spec": {"source": {"path": f"{name}/b"}}},
    )
    await harness.wait_object("v1", "ConfigMap", "from-b", ns, lambda o: o is not None)
    await harness.wait_object("v1", "ConfigMap", "from-a", ns, lambda o: o is None)
    app = await harness.wait_app(name, lambda a: harness.settled(a) and operations(a) == 2)
    assert app["status"]["history"][0]["revision"] == app["status"]["history"][1]["revision"]


async def test_a_failed_auto_sync_is_not_repeated_until_a_new_commit(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    bad = harness.repo.push({f"{name}/bad.yaml": INVALID_NAME}, "invalid name")
    await harness.client.apply(
        application(name, harness.repo.url_file, ns, path=name, automated={})
    )
    app = await harness.wait_app(name, lambda a: "SyncError" in conditions_of(a))
    assert conditions_of(app)["SyncError"].startswith(f"Failed sync attempt to {bad}: ")
    started = app["status"]["operationState"]["startedAt"]
    await harness.refresh(name)
    await harness.wait_app(
        name, lambda a: "argocd.argoproj.io/refresh" not in (a["metadata"].get("annotations") or {})
    )
    await asyncio.sleep(0.5)
    assert (await harness.app(name))["status"]["operationState"]["startedAt"] == started

    harness.repo.push({f"{name}/bad.yaml": None, f"{name}/cm.yaml": configmap("fixed")}, "fix")
    await harness.refresh(name)
    app = await harness.wait_app(
        name, lambda a: harness.settled(a) and "SyncError" not in conditions_of(a)
    )
    await harness.client.get("v1", "ConfigMap", "fixed", ns)


async def test_self_heal_backs_off_between_consecutive_heals(harness: Harness) -> None:
    await harness.client.patch(
        "v1",
        "ConfigMap",
        "argocd-cm",
        NAMESPACE,
        {
            "data": {
                "tether.dev/self-heal.backoff.duration": "1s",
                "tether.dev/self-heal.backoff.factor": "2",
            }
        },
    )
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push({f"{name}/cm.yaml": configmap("settings", "blue")}, "blue")
    await harness.client.apply(
        application(name, harness.repo.url_file, ns, path=name, automated={"selfHeal": True})
    )
    await harness.wait_app(name, harness.settled)

    for attempt in range(3):
        await harness.wait_app(name, harness.settled)
        await harness.client.patch("v1", "ConfigMap", "settings", ns, {"data": {"color": "red"}})
        await harness.wait_object(
            "v1",
            "ConfigMap",
            "settings",
            ns,
            lambda o: o is not None and o["data"]["color"] == "blue",
        )
        app = await harness.wait_app(name, healed_times(harness, attempt + 1))
    # Each heal started at least the back-off after the previous sync finished:
    # 1 s after the first sync, then 2 s, then 4 s.
    history = app["status"]["history"]
    waits = [
        (
            parse_time(later["deployStartedAt"], "") - parse_time(earlier["deployedAt"], "")
        ).total_seconds()
        for earlier, later in itertools.pairwise(history)
    ]
    assert len(waits) == 3
    for waited, backoff in zip(waits, (1.0, 2.0, 4.0), strict=True):
        assert waited >= backoff
    assert history[-1]["initiatedBy"] == {"automated": True}
