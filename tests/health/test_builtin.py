"""Built-in checks: every fixture under testdata/health judged with Argo CD's verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.health import HealthPolicy, assess_health
from tether.model import Health, HealthStatus

FIXTURES = Path(__file__).resolve().parents[2] / "testdata" / "health"

H, S, P, D, U = (
    HealthStatus.HEALTHY,
    HealthStatus.SUSPENDED,
    HealthStatus.PROGRESSING,
    HealthStatus.DEGRADED,
    HealthStatus.UNKNOWN,
)
CRASH = (
    "back-off 5m0s restarting failed container=web "
    "pod=web-6d8f7c9b5-x7k2p_shop(7c1f0001-5b2e-4c8a-9d3e-0f6a1b2c0001)"
)

# fixture -> expected verdict (None: no check applies), with the default policy.
CASES: dict[str, Health | None] = {
    # Deployment
    "deployment-healthy.yaml": Health(H),
    "deployment-healthy-scaled-to-zero.yaml": Health(H),
    "deployment-progressing.yaml": Health(
        P, "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."
    ),
    "deployment-progressing-old-replicas.yaml": Health(
        P, "Waiting for rollout to finish: 1 old replicas are pending termination..."
    ),
    "deployment-progressing-unavailable.yaml": Health(
        P, "Waiting for rollout to finish: 2 of 3 updated replicas are available..."
    ),
    "deployment-progressing-generation.yaml": Health(
        P,
        "Waiting for rollout to finish: observed deployment generation less than desired "
        "generation",
    ),
    "deployment-degraded.yaml": Health(D, 'Deployment "web" exceeded its progress deadline'),
    "deployment-suspended.yaml": Health(S, "Deployment is paused"),
    "deployment-unknown-version.yaml": Health(
        U, "unsupported Deployment GVK: apps/v1beta2, Kind=Deployment"
    ),
    "deployment-unknown-malformed.yaml": Health(
        U,
        "failed to convert unstructured Deployment to typed: "
        ".spec.replicas: expected integer, got string",
    ),
    # ReplicaSet
    "replicaset-healthy.yaml": Health(H),
    "replicaset-progressing.yaml": Health(
        P, "Waiting for rollout to finish: 1 out of 3 new replicas are available..."
    ),
    "replicaset-progressing-generation.yaml": Health(
        P,
        "Waiting for rollout to finish: observed replica set generation less than desired "
        "generation",
    ),
    "replicaset-degraded.yaml": Health(
        D,
        'pods "web-6d8f7c9b5-x7k2p" is forbidden: exceeded quota: compute-resources, '
        "requested: requests.cpu=100m, used: requests.cpu=2, limited: requests.cpu=2",
    ),
    # StatefulSet
    "statefulset-healthy.yaml": Health(
        H, "partitioned roll out complete: 3 new pods have been updated..."
    ),
    "statefulset-healthy-partition.yaml": Health(
        H, "partitioned roll out complete: 1 new pods have been updated..."
    ),
    "statefulset-healthy-ondelete.yaml": Health(H, "statefulset has 3 ready pods"),
    "statefulset-healthy-revision.yaml": Health(
        H, "statefulset rolling update complete 3 pods at revision db-5c7d9f8b6..."
    ),
    "statefulset-progressing.yaml": Health(P, "Waiting for 2 pods to be ready..."),
    "statefulset-progressing-generation.yaml": Health(
        P, "Waiting for statefulset spec update to be observed..."
    ),
    "statefulset-progressing-partition.yaml": Health(
        P, "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."
    ),
    "statefulset-progressing-revision.yaml": Health(
        P, "waiting for statefulset rolling update to complete 1 pods at revision db-84b6c5d7f9..."
    ),
    # DaemonSet
    "daemonset-healthy.yaml": Health(H),
    "daemonset-healthy-ondelete.yaml": Health(
        H, "daemon set 1 out of 4 new pods have been updated"
    ),
    "daemonset-progressing.yaml": Health(
        P,
        'Waiting for daemon set "node-exporter" rollout to finish: 2 out of 4 new pods have '
        "been updated...",
    ),
    "daemonset-progressing-unavailable.yaml": Health(
        P,
        'Waiting for daemon set "node-exporter" rollout to finish: 3 of 4 updated pods are '
        "available...",
    ),
    "daemonset-progressing-generation.yaml": Health(
        P,
        "Waiting for rollout to finish: observed daemon set generation less than desired "
        "generation",
    ),
    # Pod
    "pod-healthy.yaml": Health(H),
    "pod-pending.yaml": Health(P),
    "pod-crashloop.yaml": Health(D, CRASH),
    "pod-imagepullbackoff.yaml": Health(D, 'Back-off pulling image "ghcr.io/acme/web:1.4.3"'),
    "pod-errimagepull.yaml": Health(
        D,
        'failed to pull and unpack image "ghcr.io/acme/web:1.4.3": failed to resolve reference '
        '"ghcr.io/acme/web:1.4.3": ghcr.io/acme/web:1.4.3: not found',
    ),
    "pod-createcontainerconfigerror.yaml": Health(D, 'secret "web-credentials" not found'),
    "pod-degraded-two-containers.yaml": Health(
        D, f'{CRASH}, Back-off pulling image "ghcr.io/acme/sidecar:0.9"'
    ),
    "pod-degraded-restarted.yaml": Health(D),
    "pod-failed.yaml": Health(D, 'container "web" failed with exit code 2'),
    "pod-failed-evicted.yaml": Health(
        D,
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91084Ki. "
        "Container web was using 1421756Ki, request is 128Mi, has larger consumption of memory.",
    ),
    "pod-failed-oomkilled.yaml": Health(D, "OOMKilled"),
    "pod-failed-termination-message.yaml": Health(
        D, 'migration 0042_add_orders failed: relation "orders" already exists'
    ),
    "pod-succeeded.yaml": Health(H),
    "pod-progressing-not-ready.yaml": Health(P),
    "pod-progressing-restart-never.yaml": Health(P),
    "pod-progressing-hook-backoff.yaml": Health(P),
    "pod-progressing-deleting.yaml": Health(P, "Pending deletion"),
    "pod-unknown.yaml": Health(U, "node worker-2 is not reachable"),
    # Service, Ingress, PersistentVolumeClaim
    "service-healthy.yaml": Health(H),
    "service-healthy-loadbalancer.yaml": Health(H),
    "service-progressing.yaml": Health(P),
    "ingress-healthy.yaml": Health(H),
    "ingress-healthy-extensions.yaml": Health(H),
    "ingress-progressing.yaml": Health(P),
    "persistentvolumeclaim-healthy.yaml": Health(H),
    "persistentvolumeclaim-progressing.yaml": Health(P),
    "persistentvolumeclaim-degraded.yaml": Health(D),
    # Job, CronJob
    "job-healthy.yaml": Health(H, "Reached expected number of succeeded pods"),
    "job-healthy-resumed.yaml": Health(H, "Job resumed"),
    "job-progressing.yaml": Health(P),
    "job-degraded.yaml": Health(D, "Job has reached the specified backoff limit"),
    "job-suspended.yaml": Health(S),
    "cronjob-healthy.yaml": Health(H, "CronJob has completed its last execution successfully"),
    "cronjob-healthy-never-scheduled.yaml": Health(H),
    "cronjob-suspended.yaml": Health(S, "CronJob is Suspended"),
    "cronjob-progressing.yaml": Health(P, "Waiting for 1 Jobs to complete"),
    "cronjob-degraded.yaml": Health(D, "CronJob has not completed its last execution successfully"),
    "cronjob-degraded-never-succeeded.yaml": Health(
        D, "CronJob has not completed its last execution successfully"
    ),
    # HorizontalPodAutoscaler
    "horizontalpodautoscaler-healthy.yaml": Health(H, "recommended size matches current size"),
    "horizontalpodautoscaler-healthy-v1.yaml": Health(H, "recommended size matches current size"),
    "horizontalpodautoscaler-progressing.yaml": Health(P, "Waiting to Autoscale"),
    "horizontalpodautoscaler-progressing-v1.yaml": Health(P, "Waiting to Autoscale"),
    "horizontalpodautoscaler-degraded.yaml": Health(
        D,
        "the HPA was unable to compute the replica count: failed to get cpu utilization: "
        "unable to get metrics for resource cpu: no metrics returned from resource metrics API",
    ),
    "horizontalpodautoscaler-degraded-scale.yaml": Health(
        D,
        "the HPA controller was unable to get the target's current scale: "
        'deployments/scale.apps "web" not found',
    ),
    "horizontalpodautoscaler-degraded-v1.yaml": Health(
        D,
        "the HPA was unable to compute the replica count: unable to get metric "
        "requests_per_second: Service on shop web/unable to fetch metrics from custom metrics "
        "API: the server could not find the metric requests_per_second for services",
    ),
    # APIService
    "apiservice-healthy.yaml": Health(H, "Passed: all checks passed"),
    "apiservice-progressing.yaml": Health(
        P,
        "FailedDiscoveryCheck: failing or missing response from "
        "https://10.96.120.33:443/apis/metrics.k8s.io/v1beta1: Get "
        '"https://10.96.120.33:443/apis/metrics.k8s.io/v1beta1": dial tcp 10.96.120.33:443: '
        "connect: connection refused",
    ),
    "apiservice-progressing-new.yaml": Health(P, "Waiting to be processed"),
    # Namespace, and kinds without a check
    "namespace-none.yaml": None,
    "namespace-progressing.yaml": Health(P, "Pending deletion"),
    "configmap-none.yaml": None,
    "secret-none.yaml": None,
    # Argo Workflows
    "workflow-healthy.yaml": Health(H),
    "workflow-progressing.yaml": Health(P),
    "workflow-degraded.yaml": Health(D, "child 'etl-hq8sv-3401293470' failed"),
    # Custom resources: the generic Ready/Available check
    "certificate-healthy.yaml": Health(H, "Certificate is up to date and has not expired"),
    "certificate-degraded.yaml": Health(D, "Issuing certificate as Secret does not exist"),
    "certificate-progressing.yaml": Health(P, "Waiting for the ACME challenge to be presented"),
    "certificate-none.yaml": None,
    "kafka-progressing-generation.yaml": Health(
        P, "Waiting for the controller to observe generation 3"
    ),
    # Applications: opt-in, no verdict by default
    "application-healthy.yaml": None,
    "application-degraded.yaml": None,
    "application-progressing.yaml": None,
}


def load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((FIXTURES / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize(("fixture", "expected"), CASES.items(), ids=list(CASES))
def test_fixture_gets_argo_cds_verdict(fixture: str, expected: Health | None) -> None:
    assert assess_health(load(fixture)) == expected


def test_every_fixture_has_an_expected_verdict() -> None:
    on_disk = {path.name for path in FIXTURES.glob("*.yaml")}
    assert on_disk == set(CASES)
    assert len(on_disk) >= 60


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("application-healthy.yaml", Health(H)),
        ("application-degraded.yaml", Health(D, 'Deployment "web" exceeded its progress deadline')),
        ("application-progressing.yaml", Health(P)),
    ],
)
def test_applications_are_judged_when_the_policy_asks(fixture: str, expected: Health) -> None:
    policy = HealthPolicy(application_health=True)
    assert assess_health(load(fixture), policy=policy) == expected


@pytest.mark.parametrize(
    "fixture",
    ["certificate-healthy.yaml", "certificate-degraded.yaml", "kafka-progressing-generation.yaml"],
)
def test_generic_conditions_can_be_turned_off_for_argo_cd_parity(fixture: str) -> None:
    assert assess_health(load(fixture), policy=HealthPolicy(generic_conditions=False)) is None


def test_generic_conditions_never_judge_kubernetes_own_kinds() -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "leader"},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]},
    }
    assert assess_health(lease) is None


def test_available_condition_is_read_when_there_is_no_ready_one() -> None:
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "status": {"conditions": [{"type": "Available", "status": "False", "message": "no"}]},
    }
    assert assess_health(obj) == Health(D, "no")


def test_hook_finalizer_keeps_a_deleted_hook_judged() -> None:
    pod = load("pod-failed.yaml")
    pod["metadata"]["deletionTimestamp"] = "2026-03-02T09:30:00Z"
    pod["metadata"]["finalizers"] = ["argocd.argoproj.io/hook-finalizer"]
    assert assess_health(pod) == Health(D, 'container "web" failed with exit code 2')


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"status": {"conditions": "Ready"}}, ".status.conditions: expected array, got string"),
        ({"status": {"conditions": [7]}}, ".status.conditions[0]: expected object, got number"),
        ({"spec": {"paused": "yes"}}, ".spec.paused: expected boolean, got string"),
        ({"status": {"replicas": 1.5}}, ".status.replicas: expected integer, got number"),
        (
            {"spec": None, "status": {"observedGeneration": True}},
            ".status.observedGeneration: expected integer, got boolean",
        ),
    ],
)
def test_malformed_fields_give_unknown_not_an_exception(
    patch: dict[str, Any], message: str
) -> None:
    deployment = load("deployment-healthy.yaml")
    for key, value in patch.items():
        if isinstance(value, dict):
            deployment[key].update(value)
        else:
            deployment[key] = value
    verdict = assess_health(deployment)
    assert verdict == Health(U, f"failed to convert unstructured Deployment to typed: {message}")


def test_hpa_v1_with_a_broken_conditions_annotation_is_unknown() -> None:
    hpa = load("horizontalpodautoscaler-healthy-v1.yaml")
    hpa["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/conditions"] = "[{"
    verdict = assess_health(hpa)
    assert verdict is not None
    assert verdict.status is U
    assert "autoscaling.alpha.kubernetes.io/conditions" in verdict.message
