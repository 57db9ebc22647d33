"""The table of built-in checks: which function judges which group and kind.

Like Argo CD, a check is chosen by API group and kind; where Argo CD converts the object
to one typed Go struct per version, tether checks the version against the versions that
kind supports and reports any other as ``Unknown`` ("unsupported Deployment GVK: ...").
A field of the wrong type also gives ``Unknown``, with Argo CD's conversion message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tether.health.apiservice import check_apiservice
from tether.health.application import check_application
from tether.health.cronjob import check_cronjob
from tether.health.daemonset import check_daemonset
from tether.health.deployment import check_deployment
from tether.health.errors import FieldTypeError
from tether.health.fields import Object
from tether.health.horizontalpodautoscaler import check_horizontalpodautoscaler
from tether.health.ingress import check_ingress
from tether.health.job import check_job
from tether.health.namespace import check_namespace
from tether.health.persistentvolumeclaim import check_persistentvolumeclaim
from tether.health.pod import check_pod
from tether.health.replicaset import check_replicaset
from tether.health.service import check_service
from tether.health.statefulset import check_statefulset
from tether.health.workflow import check_workflow
from tether.model import Health, HealthStatus

Check = Callable[[Object], Health | None]


@dataclass(frozen=True, slots=True)
class BuiltinCheck:
    """One built-in check: the kind it judges and the API versions it understands."""

    kind: str
    run: Check
    #: ``None`` when the check reads fields common to every version.
    versions: frozenset[str] | None

    def assess(self, group: str, version: str, obj: Object) -> Health | None:
        """Run the check, turning an unsupported version or a bad field into ``Unknown``."""
        if self.versions is not None and version not in self.versions:
            group_version = f"{group}/{version}" if group else version
            return Health(
                HealthStatus.UNKNOWN,
                f"unsupported {self.kind} GVK: {group_version}, Kind={self.kind}",
            )
        try:
            return self.run(obj)
        except FieldTypeError as error:
            return Health(
                HealthStatus.UNKNOWN,
                f"failed to convert unstructured {self.kind} to typed: {error}",
            )


def _check(kind: str, run: Check, *versions: str) -> BuiltinCheck:
    return BuiltinCheck(kind=kind, run=run, versions=frozenset(versions) if versions else None)


#: Checks that always apply, keyed by ``(group, kind)``.
BUILTIN_CHECKS: dict[tuple[str, str], BuiltinCheck] = {
    ("apps", "Deployment"): _check("Deployment", check_deployment, "v1"),
    ("apps", "ReplicaSet"): _check("ReplicaSet", check_replicaset, "v1"),
    ("apps", "StatefulSet"): _check("StatefulSet", check_statefulset, "v1"),
    ("apps", "DaemonSet"): _check("DaemonSet", check_daemonset, "v1"),
    ("", "Pod"): _check("Pod", check_pod, "v1"),
    ("", "Service"): _check("Service", check_service, "v1"),
    ("", "PersistentVolumeClaim"): _check(
        "PersistentVolumeClaim", check_persistentvolumeclaim, "v1"
    ),
    ("", "Namespace"): _check("Namespace", check_namespace, "v1"),
    ("networking.k8s.io", "Ingress"): _check("Ingress", check_ingress),
    ("extensions", "Ingress"): _check("Ingress", check_ingress),
    ("batch", "Job"): _check("Job", check_job, "v1"),
    ("batch", "CronJob"): _check("CronJob", check_cronjob, "v1"),
    ("autoscaling", "HorizontalPodAutoscaler"): _check(
        "HorizontalPodAutoscaler",
        check_horizontalpodautoscaler,
        "v1",
        "v2beta1",
        "v2beta2",
        "v2",
    ),
    ("apiregistration.k8s.io", "APIService"): _check(
        "APIService", check_apiservice, "v1", "v1beta1"
    ),
    ("argoproj.io", "Workflow"): _check("Workflow", check_workflow),
}

#: Argo CD Applications: only judged when the policy asks for it.
APPLICATION_CHECK = _check("Application", check_application)
APPLICATION_GROUP_KIND = ("argoproj.io", "Application")
