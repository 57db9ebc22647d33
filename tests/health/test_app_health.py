"""Application health: Argo CD's aggregation of its direct resources' verdicts."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.health import (
    HealthPolicy,
    ManagedResource,
    ResourceHealth,
    assess_app_health,
)
from tether.model import Health, HealthStatus, ResourceKey

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "health"
H, S, P, M, D, U = (
    HealthStatus.HEALTHY,
    HealthStatus.SUSPENDED,
    HealthStatus.PROGRESSING,
    HealthStatus.MISSING,
    HealthStatus.DEGRADED,
    HealthStatus.UNKNOWN,
)


def obj(name: str, **annotations: str) -> dict[str, Any]:
    loaded = yaml.safe_load((TESTDATA / name).read_text())
    assert isinstance(loaded, dict)
    if annotations:
        loaded["metadata"].setdefault("annotations", {}).update(annotations)
    return loaded


def live(name: str, **annotations: str) -> ManagedResource:
    found = obj(name, **annotations)
    return ManagedResource(ResourceKey.of(found), target=copy.deepcopy(found), live=found)


def missing(name: str) -> ManagedResource:
    found = obj(name)
    return ManagedResource(ResourceKey.of(found), target=found, live=None)


def status_of(*resources: ManagedResource, **options: Any) -> HealthStatus:
    return assess_app_health(resources, **options).health.status


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ([], H),
        ([live("deployment-healthy.yaml"), live("service-healthy.yaml")], H),
        ([live("deployment-healthy.yaml"), live("cronjob-suspended.yaml")], S),
        ([live("deployment-progressing.yaml"), live("cronjob-suspended.yaml")], P),
        ([live("deployment-degraded.yaml"), live("service-progressing.yaml")], D),
        ([live("deployment-unknown-version.yaml"), live("deployment-degraded.yaml")], U),
        # Missing resources do not lower the health while something is live ...
        ([live("deployment-healthy.yaml"), missing("service-healthy.yaml")], H),
        ([live("deployment-progressing.yaml"), missing("service-healthy.yaml")], P),
        ([live("deployment-degraded.yaml"), missing("service-healthy.yaml")], D),
        # ... but an application with nothing live is Missing
        ([missing("deployment-healthy.yaml"), missing("service-healthy.yaml")], M),
        # resources without a verdict do not count
        ([live("configmap-none.yaml"), live("secret-none.yaml")], H),
    ],
    ids=[
        "empty",
        "all-healthy",
        "suspended",
        "progressing-over-suspended",
        "degraded-over-progressing",
        "unknown-over-degraded",
        "missing-ignored",
        "missing-ignored-progressing",
        "missing-and-degraded",
        "nothing-live",
        "no-verdicts",
    ],
)
def test_worst_health_wins(resources: list[ManagedResource], expected: HealthStatus) -> None:
    assert status_of(*resources) == expected


def test_each_judged_resource_gets_its_verdict() -> None:
    resources = [
        live("deployment-progressing.yaml"),
        missing("service-healthy.yaml"),
        live("configmap-none.yaml"),
    ]
    report = assess_app_health(resources)
    assert report.resources == (
        ResourceHealth(
            resources[0].key,
            Health(
                P, "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."
            ),
        ),
        ResourceHealth(resources[1].key, Health(M)),
        ResourceHealth(resources[2].key, None),
    )


@pytest.mark.parametrize(
    "left_out",
    [
        live("job-degraded.yaml", **{"argocd.argoproj.io/hook": "PreSync"}),
        live("job-degraded.yaml", **{"argocd.argoproj.io/hook": "PostSync,SyncFail"}),
        live("pod-failed.yaml", **{"helm.sh/hook": "post-install"}),
        # a hook annotation that names no known type marks the object as ignored
        live("pod-failed.yaml", **{"argocd.argoproj.io/hook": "Sometimes"}),
        live("deployment-degraded.yaml", **{"argocd.argoproj.io/ignore-healthcheck": "true"}),
    ],
    ids=["argo-hook", "argo-hooks", "helm-hook", "unknown-hook-type", "ignore-healthcheck"],
)
def test_hooks_and_ignored_resources_do_not_count(left_out: ManagedResource) -> None:
    report = assess_app_health([live("deployment-healthy.yaml"), left_out])
    assert report.health == Health(H)
    assert [verdict.key for verdict in report.resources] == [
        ResourceKey.of(obj("deployment-healthy.yaml"))
    ]


def test_skip_hooks_are_left_out_by_their_desired_state() -> None:
    target = obj("deployment-degraded.yaml", **{"argocd.argoproj.io/hook": "Skip"})
    skipped = ManagedResource(
        ResourceKey.of(target), target=target, live=obj("deployment-degraded.yaml")
    )
    assert status_of(live("deployment-healthy.yaml"), skipped) == H


def test_helm_crd_install_and_ignore_healthcheck_false_still_count() -> None:
    assert status_of(live("deployment-degraded.yaml", **{"helm.sh/hook": "crd-install"})) == D
    ignored_false = live(
        "deployment-degraded.yaml", **{"argocd.argoproj.io/ignore-healthcheck": "false"}
    )
    assert status_of(ignored_false) == D


def test_an_app_that_manages_itself_does_not_judge_itself() -> None:
    policy = HealthPolicy(application_health=True)
    own = live("application-degraded.yaml")
    assert status_of(own, live("deployment-healthy.yaml"), app=own.key, policy=policy) == H
    assert status_of(own, live("deployment-healthy.yaml"), policy=policy) == D


def test_a_child_application_that_is_missing_or_unknown_does_not_count() -> None:
    policy = HealthPolicy(application_health=True)
    unknown_child = obj("application-healthy.yaml")
    unknown_child["status"]["health"] = {"status": "Unknown"}
    child = ManagedResource(ResourceKey.of(unknown_child), target=unknown_child, live=unknown_child)
    assert status_of(child, live("deployment-progressing.yaml"), policy=policy) == P
    missing_child = obj("application-healthy.yaml")
    missing_child["status"]["health"] = {"status": "Missing"}
    child = ManagedResource(ResourceKey.of(missing_child), target=missing_child, live=missing_child)
    assert status_of(child, live("deployment-healthy.yaml"), policy=policy) == H
