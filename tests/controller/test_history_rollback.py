"""End to end: history, rollback to a history id, and ``git revert`` of a bad commit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from appmanifests import application, configmap

from tether.controller.rollback import RollbackError, request_rollback

if TYPE_CHECKING:
    from conftest import Harness

NAMESPACE = "argocd"


def color_is(color: str) -> Any:
    return lambda o: o is not None and o["data"]["color"] == color


def synced_to(harness: Harness, sha: str) -> Any:
    return lambda a: (
        harness.settled(a)
        and a["status"]["sync"].get("revision") == sha
        and (a["status"].get("operationState") or {}).get("phase") == "Succeeded"
        and a["status"]["operationState"]["syncResult"]["revision"] == sha
    )


async def test_rollback_syncs_a_history_entry_and_turns_automation_off(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    first = harness.repo.push({f"{name}/cm.yaml": configmap("settings", "blue")}, "blue")
    await harness.client.apply(
        application(
            name, harness.repo.url_git, ns, path=name, automated={"prune": True, "selfHeal": True}
        )
    )
    await harness.wait_app(name, synced_to(harness, first))
    second = harness.repo.push({f"{name}/cm.yaml": configmap("settings", "green")}, "green")
    await harness.refresh(name)
    app = await harness.wait_app(name, synced_to(harness, second))
    assert [(h["id"], h["revision"]) for h in app["status"]["history"]] == [
        (0, first),
        (1, second),
    ]

    with pytest.raises(RollbackError, match=r"history id 7 not found \(known: 0, 1\)"):
        await request_rollback(harness.client, NAMESPACE, name, 7)
    updated = await request_rollback(harness.client, NAMESPACE, name, 0, username="alice")
    assert "automated" not in updated["spec"]["syncPolicy"]
    assert updated["operation"]["sync"]["revision"] == first

    await harness.wait_object("v1", "ConfigMap", "settings", ns, color_is("blue"))
    app = await harness.wait_app(
        name,
        lambda a: (
            len(a["status"]["history"]) == 3
            and a["status"]["operationState"]["phase"] == "Succeeded"
        ),
    )
    assert app["status"]["history"][-1]["revision"] == first
    assert app["status"]["history"][-1]["initiatedBy"] == {"username": "alice"}
    # The spec still points at main's head: the app is OutOfSync, and stays rolled back.
    app = await harness.wait_app(name, lambda a: harness.sync_status(a) == "OutOfSync")
    assert app["status"]["sync"]["revision"] == second
    await harness.refresh(name)
    await harness.wait_app(
        name, lambda a: "argocd.argoproj.io/refresh" not in (a["metadata"].get("annotations") or {})
    )
    live = await harness.client.get("v1", "ConfigMap", "settings", ns)
    assert live["data"]["color"] == "blue"


async def test_git_revert_of_a_bad_commit_restores_the_previous_state(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push(
        {
            f"{name}/cm.yaml": configmap("settings", "blue"),
            f"{name}/extra.yaml": configmap("extra", "kept"),
        },
        "good",
    )
    await harness.client.apply(
        application(name, harness.repo.url_git, ns, path=name, automated={"prune": True})
    )
    await harness.wait_app(name, harness.synced_and_healthy)
    bad = harness.repo.push(
        {f"{name}/cm.yaml": configmap("settings", "broken"), f"{name}/extra.yaml": None}, "bad"
    )
    await harness.refresh(name)
    await harness.wait_object("v1", "ConfigMap", "extra", ns, lambda o: o is None)
    await harness.wait_object("v1", "ConfigMap", "settings", ns, color_is("broken"))

    harness.repo.git("revert", "--no-edit", bad)
    harness.repo.git("push", "-q", "origin", "HEAD:refs/heads/main")
    reverted = harness.repo.head()
    await harness.refresh(name)
    await harness.wait_app(name, synced_to(harness, reverted))
    await harness.wait_object("v1", "ConfigMap", "settings", ns, color_is("blue"))
    await harness.wait_object("v1", "ConfigMap", "extra", ns, color_is("kept"))
