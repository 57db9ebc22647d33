"""The vocabulary every other package shares.

``model`` imports nothing of tether. It holds:

- the string enums whose values go on the wire as Argo CD writes them
  (:class:`SyncStatus`, :class:`HealthStatus`, :class:`OperationPhase`, ...);
- :class:`ResourceKey`, the identity of a Kubernetes object (group, kind, namespace,
  name; never the version), and the tracking-id format that ties an object to the
  application that manages it (``<app>:<group>/<kind>:<namespace>/<name>``);
- :class:`Health`, the ``(status, message)`` verdict of a health check;
- :class:`ApplicationSource` and its blocks (helm, kustomize, directory, plugin): an
  Application's source exactly as Argo CD spells it, parsed with field-path errors
  (:class:`SpecError`) and written back unchanged;
- :mod:`tether.model.keys`, every annotation, label and finalizer key tether reads or
  writes. No other module spells such a key as a literal.
- the three custom resources, parsed the same way and written back unchanged:
  :class:`Application` (spec, status with the resumable :class:`OperationState`, and a
  top-level ``operation`` request), :class:`AppProject` (with its decisions
  :meth:`~AppProject.is_source_permitted`, :meth:`~AppProject.is_destination_permitted`
  and :meth:`~AppProject.is_resource_permitted`, each a :class:`Permission` that says why
  it denies) and :class:`ApplicationSet`; :func:`load_crds` returns their structural
  CRDs (package data: the only file this package reads); :class:`SyncOptions` reads
  sync and compare options (app list and per-object annotations, objects overriding
  apps; tether applies server-side unless ``ServerSideApply=false``); :func:`wave_of`,
  :func:`hook_types_of` and :func:`hook_delete_policies_of` read waves and hooks, Helm's
  annotations included, as Argo CD does.

Rules: values here are immutable and cheap to compare; nothing here performs I/O.
"""

from tether.model import keys
from tether.model.application import API_VERSION, Application
from tether.model.applicationset import (
    ApplicationSet,
    ApplicationSetSpec,
    ApplicationsSync,
    AppSetStrategy,
    AppSetSyncPolicy,
    Generator,
    RollingSyncStep,
    application_from_template,
)
from tether.model.appsetstatus import ApplicationSetStatus, AppSetCondition, AppSetConditionType
from tether.model.appspec import ApplicationSpec, Destination, Info, ResourceIgnoreDifferences
from tether.model.crd import load_crds
from tether.model.enums import (
    HealthStatus,
    HookDeletePolicy,
    HookType,
    OperationPhase,
    ResultCode,
    SyncPhase,
    SyncStatus,
)
from tether.model.hooks import hook_delete_policies_of, hook_types_of, is_hook, is_skipped, wave_of
from tether.model.meta import ObjectMeta
from tether.model.operation import (
    Operation,
    OperationInitiator,
    OperationState,
    ResourceResult,
    SyncOperation,
    SyncOperationResource,
    SyncOperationResult,
    SyncStrategy,
)
from tether.model.project import (
    DEFAULT_PROJECT_SPEC,
    AppProject,
    AppProjectSpec,
    Permission,
    default_project,
)
from tether.model.projectparts import (
    GroupKind,
    ProjectDestination,
    ProjectRole,
    SyncWindow,
    WindowKind,
)
from tether.model.resource import Health, ResourceKey, format_tracking_id, parse_tracking_id
from tether.model.source import (
    ApplicationSource,
    DirectorySource,
    HelmFileParameter,
    HelmParameter,
    HelmSource,
    JsonnetSource,
    JsonnetVar,
    KustomizeReplica,
    KustomizeSource,
    PluginParameter,
    PluginSource,
)
from tether.model.specerror import SpecError
from tether.model.status import (
    ApplicationStatus,
    ComparedTo,
    Condition,
    ConditionType,
    ResourceStatus,
    RevisionHistory,
    Summary,
    SyncState,
)
from tether.model.syncoptions import DeleteOption, PropagationPolicy, PruneOption, SyncOptions
from tether.model.syncpolicy import (
    Automated,
    Backoff,
    ManagedNamespaceMetadata,
    RetryStrategy,
    SyncPolicy,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_PROJECT_SPEC",
    "AppProject",
    "AppProjectSpec",
    "AppSetCondition",
    "AppSetConditionType",
    "AppSetStrategy",
    "AppSetSyncPolicy",
    "Application",
    "ApplicationSet",
    "ApplicationSetSpec",
    "ApplicationSetStatus",
    "ApplicationSource",
    "ApplicationSpec",
    "ApplicationStatus",
    "ApplicationsSync",
    "Automated",
    "Backoff",
    "ComparedTo",
    "Condition",
    "ConditionType",
    "DeleteOption",
    "Destination",
    "DirectorySource",
    "Generator",
    "GroupKind",
    "Health",
    "HealthStatus",
    "HelmFileParameter",
    "HelmParameter",
    "HelmSource",
    "HookDeletePolicy",
    "HookType",
    "Info",
    "JsonnetSource",
    "JsonnetVar",
    "KustomizeReplica",
    "KustomizeSource",
    "ManagedNamespaceMetadata",
    "ObjectMeta",
    "Operation",
    "OperationInitiator",
    "OperationPhase",
    "OperationState",
    "Permission",
    "PluginParameter",
    "PluginSource",
    "ProjectDestination",
    "ProjectRole",
    "PropagationPolicy",
    "PruneOption",
    "ResourceIgnoreDifferences",
    "ResourceKey",
    "ResourceResult",
    "ResourceStatus",
    "ResultCode",
    "RetryStrategy",
    "RevisionHistory",
    "RollingSyncStep",
    "SpecError",
    "Summary",
    "SyncOperation",
    "SyncOperationResource",
    "SyncOperationResult",
    "SyncOptions",
    "SyncPhase",
    "SyncPolicy",
    "SyncState",
    "SyncStatus",
    "SyncStrategy",
    "SyncWindow",
    "WindowKind",
    "application_from_template",
    "default_project",
    "format_tracking_id",
    "hook_delete_policies_of",
    "hook_types_of",
    "is_hook",
    "is_skipped",
    "keys",
    "load_crds",
    "parse_tracking_id",
    "wave_of",
]
