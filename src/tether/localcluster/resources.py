"""Resource types: what the server serves, and the built-in table.

A :class:`ResourceType` is one REST resource (``deployments.apps``) as discovery
describes it: group, served versions, kind, plural and singular names, scope, verbs,
short names, categories and subresources. Objects are stored once per
``(group, plural)``; a request at another served version sees the same object with its
``apiVersion`` rewritten (the ``None`` conversion strategy of CustomResourceDefinitions).

:data:`BUILTIN` lists the built-in kinds with the scopes, short names and categories of
Kubernetes 1.35.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tether.localcluster.errors import Resource

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NAMESPACE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class ScalePaths:
    """Where a kind keeps its replica counts, for the ``/scale`` subresource."""

    spec_replicas: str = ".spec.replicas"
    status_replicas: str = ".status.replicas"
    label_selector: str | None = ".status.selector"


@dataclass(frozen=True)
class PrinterColumn:
    """A CRD's ``additionalPrinterColumns`` entry: a Table column from a JSON path."""

    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


@dataclass(frozen=True)
class ResourceType:
    """One served REST resource."""

    group: str
    versions: tuple[str, ...]
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status: bool = False
    scale: ScalePaths | None = None
    verbs: tuple[str, ...] = ALL_VERBS
    singular: str = ""
    custom: bool = False
    #: A review resource: ``create`` computes an answer and stores nothing.
    review: bool = False
    #: Table columns of a custom resource (``additionalPrinterColumns``).
    printer_columns: tuple[PrinterColumn, ...] = ()
    #: Whether objects carry ``metadata.generation`` (kinds with a spec do).
    generation: bool = False
    #: Extra subresources served only as names in discovery (``pods/log``...).
    extra_subresources: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[str, str]:
        """The storage identity: ``(group, plural)``."""
        return (self.group, self.plural)

    @property
    def version(self) -> str:
        """The preferred (and storage) version."""
        return self.versions[0]

    @property
    def singular_name(self) -> str:
        """The singular resource name (``deployment``)."""
        return self.singular or self.kind.lower()

    @property
    def list_kind(self) -> str:
        """The kind of a list of these objects."""
        return self.kind + "List"

    def api_version(self, version: str | None = None) -> str:
        """``v1`` for core, ``group/version`` otherwise."""
        v = version or self.version
        return f"{self.group}/{v}" if self.group else v

    @property
    def ref(self) -> Resource:
        """How error messages name this resource."""
        return Resource(self.group, self.plural, self.kind)

    def qualified(self) -> str:
        """``plural`` or ``plural.group``."""
        return self.ref.qualified()


def _core(kind: str, plural: str, namespaced: bool = True, **kw: object) -> ResourceType:
    return ResourceType("", ("v1",), kind, plural, namespaced, **kw)  # type: ignore[arg-type]


def _g(
    group: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    *,
    versions: tuple[str, ...] = ("v1",),
    **kw: object,
) -> ResourceType:
    return ResourceType(group, versions, kind, plural, namespaced, **kw)  # type: ignore[arg-type]


_REPLICAS = ScalePaths()
_ALL = ("all",)
_EXT = ("api-extensions",)

BUILTIN: tuple[ResourceType, ...] = (
    _core(
        "Namespace",
        "namespaces",
        False,
        short_names=("ns",),
        status=True,
        verbs=NAMESPACE_VERBS,
        extra_subresources=("finalize",),
    ),
    _core("ConfigMap", "configmaps", short_names=("cm",)),
    _core("Secret", "secrets"),
    _core("Service", "services", short_names=("svc",), categories=_ALL, status=True),
    _core("ServiceAccount", "serviceaccounts", short_names=("sa",)),
    _core(
        "Pod",
        "pods",
        short_names=("po",),
        categories=_ALL,
        status=True,
        generation=True,
        extra_subresources=("log",),
    ),
    _core("PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",), status=True),
    _core("PersistentVolume", "persistentvolumes", False, short_names=("pv",), status=True),
    _core("Endpoints", "endpoints", short_names=("ep",), singular="endpoints"),
    _core("Event", "events", short_names=("ev",)),
    _core("Node", "nodes", False, short_names=("no",), status=True),
    _core("LimitRange", "limitranges", short_names=("limits",)),
    _core("ResourceQuota", "resourcequotas", short_names=("quota",), status=True),
    _core(
        "ReplicationController",
        "replicationcontrollers",
        short_names=("rc",),
        categories=_ALL,
        status=True,
        scale=ScalePaths(label_selector=None),
        generation=True,
    ),
    _g(
        "apps",
        "Deployment",
        "deployments",
        short_names=("deploy",),
        categories=_ALL,
        status=True,
        scale=_REPLICAS,
        generation=True,
    ),
    _g(
        "apps",
        "ReplicaSet",
        "replicasets",
        short_names=("rs",),
        categories=_ALL,
        status=True,
        scale=_REPLICAS,
        generation=True,
    ),
    _g(
        "apps",
        "StatefulSet",
        "statefulsets",
        short_names=("sts",),
        categories=_ALL,
        status=True,
        scale=_REPLICAS,
        generation=True,
    ),
    _g(
        "apps",
        "DaemonSet",
        "daemonsets",
        short_names=("ds",),
        categories=_ALL,
        status=True,
        generation=True,
    ),
    _g("apps", "ControllerRevision", "controllerrevisions"),
    _g("batch", "Job", "jobs", categories=_ALL, status=True, generation=True),
    _g(
        "batch",
        "CronJob",
        "cronjobs",
        short_names=("cj",),
        categories=_ALL,
        status=True,
        generation=True,
    ),
    _g(
        "networking.k8s.io",
        "Ingress",
        "ingresses",
        short_names=("ing",),
        status=True,
        generation=True,
    ),
    _g("networking.k8s.io", "IngressClass", "ingressclasses", False),
    _g(
        "networking.k8s.io",
        "NetworkPolicy",
        "networkpolicies",
        short_names=("netpol",),
        generation=True,
    ),
    _g("rbac.authorization.k8s.io", "Role", "roles"),
    _g("rbac.authorization.k8s.io", "RoleBinding", "rolebindings"),
    _g("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", False),
    _g("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", False),
    _g(
        "policy",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        short_names=("pdb",),
        status=True,
        generation=True,
    ),
    _g(
        "autoscaling",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        versions=("v2", "v1"),
        short_names=("hpa",),
        categories=_ALL,
        status=True,
        generation=True,
    ),
    _g("storage.k8s.io", "StorageClass", "storageclasses", False, short_names=("sc",)),
    _g("storage.k8s.io", "VolumeAttachment", "volumeattachments", False, status=True),
    _g("storage.k8s.io", "CSIDriver", "csidrivers", False),
    _g("storage.k8s.io", "CSINode", "csinodes", False),
    _g("coordination.k8s.io", "Lease", "leases"),
    _g(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        short_names=("crd", "crds"),
        categories=_EXT,
        status=True,
        generation=True,
    ),
    _g(
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        False,
        categories=_EXT,
        generation=True,
    ),
    _g(
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        False,
        categories=_EXT,
        generation=True,
    ),
    _g(
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        False,
        categories=_EXT,
        status=True,
        generation=True,
    ),
    _g(
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        False,
        categories=_EXT,
        generation=True,
    ),
    _g("apiregistration.k8s.io", "APIService", "apiservices", False, categories=_EXT, status=True),
    _g("discovery.k8s.io", "EndpointSlice", "endpointslices"),
    _g("events.k8s.io", "Event", "events", short_names=("ev",)),
    _g(
        "authorization.k8s.io",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        False,
        verbs=("create",),
        review=True,
    ),
    _g(
        "authorization.k8s.io",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        False,
        verbs=("create",),
        review=True,
    ),
    _g(
        "authentication.k8s.io",
        "SelfSubjectReview",
        "selfsubjectreviews",
        False,
        verbs=("create",),
        review=True,
    ),
)
