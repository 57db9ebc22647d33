"""End to end: sync windows and ``tether.dev/depends-on`` hold syncs back, then let them go."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from appmanifests import application, conditions_of, configmap, manual_sync, project

if TYPE_CHECKING:
    from conftest import Harness

NAMESPACE = "argocd"
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def test_a_deny_window_blocks_auto_sync_until_it_ends(harness: Harness) -> None:
    harness.clock.set(NOON)
    name = harness.new_app_name()
    await harness.client.apply(
        project(
            f"{name}-proj",
            syncWindows=[
                {"kind": "deny", "schedule": "0 11 * * *", "duration": "2h", "applications": ["*"]}
            ],
        )
    )
    harness.repo.push({f"{name}/cm.yaml": configmap("settings")}, "add")
    await harness.client.apply(
        application(
            name,
            harness.repo.url_file,
            f"{name}-ns",
            path=name,
            project=f"{name}-proj",
            automated={"prune": True},
        )
    )
    app = await harness.wait_app(name, lambda a: "SyncWindowWarning" in conditions_of(a))
    assert harness.sync_status(app) == "OutOfSync"
    assert "until 2026-03-02T13:00:00+00:00" in conditions_of(app)["SyncWindowWarning"]
    assert "operation" not in app
    assert "operationState" not in app["status"]

    # A manual sync is held too (the window has no manualSync): it waits, saying why.
    await harness.client.patch(
        "argoproj.io/v1alpha1", "Application", name, NAMESPACE, manual_sync()
    )
    app = await harness.wait_app(
        name,
        lambda a: "deny window" in (a["status"].get("operationState") or {}).get("message", ""),
    )
    assert app["status"]["operationState"]["phase"] == "Running"

    # Terminating the waiting sync ends it: it never started.
    await harness.client.patch(
        "argoproj.io/v1alpha1",
        "Application",
        name,
        NAMESPACE,
        {"status": {"operationState": {"phase": "Terminating"}}},
    )
    app = await harness.wait_app(name, lambda a: a["status"]["operationState"]["phase"] == "Failed")
    assert app["status"]["operationState"]["message"] == "Operation terminated"
    assert "operation" not in app

    # The window ends: the automated sync runs, the condition goes.
    harness.clock.set(datetime(2026, 3, 2, 13, 0, 1, tzinfo=UTC))
    await harness.refresh(name)
    app = await harness.wait_app(
        name,
        lambda a: (
            harness.synced_and_healthy(a)
            and "SyncWindowWarning" not in conditions_of(a)
            and a["status"]["operationState"]["phase"] == "Succeeded"
        ),
    )
    await harness.client.get("v1", "ConfigMap", "settings", f"{name}-ns")


async def test_depends_on_orders_syncs_and_reports_cycles(harness: Harness) -> None:
    base = harness.new_app_name()
    db, web, api = f"{base}-db", f"{base}-web", f"{base}-api"
    harness.repo.push(
        {f"{n}/cm.yaml": configmap(f"{n}-settings") for n in (db, web, api)}, "three apps"
    )
    url = harness.repo.url_file
    await harness.client.apply(application(db, url, base, path=db))  # manual: stays OutOfSync
    await harness.client.apply(
        application(
            web, url, base, path=web, automated={}, annotations={"tether.dev/depends-on": db}
        )
    )
    await harness.client.apply(
        application(
            api, url, base, path=api, annotations={"tether.dev/depends-on": f"{NAMESPACE}/{web}"}
        )
    )
    await harness.client.patch("argoproj.io/v1alpha1", "Application", api, NAMESPACE, manual_sync())

    await harness.wait_app(
        web,
        lambda a: f"argocd/{db} is OutOfSync" in conditions_of(a).get("DependencyWaitWarning", ""),
    )
    app = await harness.wait_app(
        api,
        lambda a: (
            "waiting for dependencies"
            in (a["status"].get("operationState") or {}).get("message", "")
        ),
    )
    assert harness.sync_status(app) == "OutOfSync"

    # Syncing db lets web sync automatically, which lets api's requested sync run. In
    # every snapshot of the three, an app has started syncing only once the app it
    # depends on has settled.
    await harness.client.patch("argoproj.io/v1alpha1", "Application", db, NAMESPACE, manual_sync())
    async with asyncio.timeout(30):
        while True:
            listed = await harness.client.list("argoproj.io/v1alpha1", "Application", NAMESPACE)
            apps = {a["metadata"]["name"]: a for a in listed.items}
            for dependent, dependency in ((web, db), (api, web)):
                state = apps[dependent]["status"].get("operationState") or {}
                if "syncResult" in state:
                    assert harness.settled(apps[dependency]), apps[dependency]["status"]
            if all(harness.settled(apps[n]) for n in (db, web, api)):
                break
            await asyncio.sleep(0.02)
    assert not any("DependencyWaitWarning" in conditions_of(apps[n]) for n in (db, web, api))

    # A cycle can never be satisfied: it is reported on both apps.
    x, y = f"{base}-x", f"{base}-y"
    harness.repo.push({f"{n}/cm.yaml": configmap(f"{n}-settings") for n in (x, y)}, "cycle")
    await harness.client.apply(
        application(x, url, base, path=x, automated={}, annotations={"tether.dev/depends-on": y})
    )
    await harness.client.apply(
        application(y, url, base, path=y, automated={}, annotations={"tether.dev/depends-on": x})
    )
    for name, other in ((x, y), (y, x)):
        app = await harness.wait_app(name, lambda a: "DependencyCycleError" in conditions_of(a))
        assert conditions_of(app)["DependencyCycleError"] == (
            f"dependency cycle: argocd/{name} -> argocd/{other} -> argocd/{name}"
        )
        assert harness.sync_status(app) == "OutOfSync"
