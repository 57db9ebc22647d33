"""RollingSync progress as a pure function of the live Applications."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tether.controller.appsets.rollingsync import progress, without_automated_sync
from tether.model.applicationset import ApplicationSet

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def appset(max_update: Any, statuses: list[dict[str, Any]] | None = None) -> ApplicationSet:
    step: dict[str, Any] = {"matchExpressions": [{"key": "env", "operator": "In", "values": ["a"]}]}
    if max_update is not None:
        step["maxUpdate"] = max_update
    return ApplicationSet.from_dict(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "s", "namespace": "argocd"},
            "spec": {
                "generators": [{"list": {"elements": []}}],
                "template": {"metadata": {"name": "x"}, "spec": {}},
                "strategy": {
                    "type": "RollingSync",
                    "rollingSync": {
                        "steps": [
                            step,
                            {
                                "matchExpressions": [
                                    {"key": "env", "operator": "In", "values": ["b"]}
                                ]
                            },
                        ]
                    },
                },
            },
            "status": {"applicationStatus": statuses or []},
        }
    )


def app(name: str, env: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"env": env}}, "spec": {}}


def live(sync: str, health: str) -> dict[str, Any]:
    return {"status": {"sync": {"status": sync}, "health": {"status": health}}}


@pytest.mark.parametrize(
    ("max_update", "pending"),
    [(None, 4), (1, 1), (2, 2), ("50%", 2), ("10%", 1), (0, 4)],
    ids=["all", "one", "two", "half", "percent-at-least-one", "zero-means-all"],
)
def test_max_update_bounds_the_pending_apps(max_update: Any, pending: int) -> None:
    desired = [app(f"a{i}", "a") for i in range(4)] + [app("b0", "b")]
    out_of_sync = {a["metadata"]["name"]: live("OutOfSync", "Missing") for a in desired}
    result = progress(appset(max_update), desired, out_of_sync, frozenset(), NOW)
    assert len(result.to_sync) == pending
    assert all(name.startswith("a") for name in result.to_sync)
    assert result.current_step == 1


def test_a_changed_application_goes_back_to_waiting() -> None:
    healthy = {"application": "a0", "status": "Healthy", "message": "", "step": "1"}
    desired = [app("a0", "a")]
    result = progress(
        appset(None, [healthy]),
        desired,
        {"a0": live("OutOfSync", "Healthy")},
        frozenset({"a0"}),
        NOW,
    )
    (status,) = result.statuses
    assert status.status == "Pending"
    assert result.to_sync == ("a0",)


def test_automated_sync_is_removed_and_its_prune_remembered() -> None:
    spec = {"spec": {"syncPolicy": {"automated": {"prune": True}, "syncOptions": ["X=y"]}}}
    stripped, prune = without_automated_sync(spec)
    assert stripped == {"spec": {"syncPolicy": {"syncOptions": ["X=y"]}}}
    assert prune is True


def test_a_new_commit_rolls_out_again() -> None:
    healthy = {
        "application": "a0",
        "status": "Healthy",
        "message": "",
        "step": "1",
        "targetRevisions": ["1111111"],
    }
    desired = [app("a0", "a")]
    moved = live("OutOfSync", "Healthy")
    moved["status"]["sync"]["revision"] = "2222222"
    result = progress(appset(None, [healthy]), desired, {"a0": moved}, frozenset(), NOW)
    (status,) = result.statuses
    assert (status.status, status.target_revisions) == ("Pending", ("2222222",))
    assert result.to_sync == ("a0",)
    same = live("Synced", "Healthy")
    same["status"]["sync"]["revision"] = "1111111"
    (kept,) = progress(appset(None, [healthy]), desired, {"a0": same}, frozenset(), NOW).statuses
    assert kept.status == "Healthy"
