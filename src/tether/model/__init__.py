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

Rules: values here are immutable and cheap to compare; nothing here performs I/O.
"""

from tether.model import keys
from tether.model.enums import (
    HealthStatus,
    HookDeletePolicy,
    HookType,
    OperationPhase,
    ResultCode,
    SyncPhase,
    SyncStatus,
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

__all__ = [
    "ApplicationSource",
    "DirectorySource",
    "Health",
    "HealthStatus",
    "HelmFileParameter",
    "HelmParameter",
    "HelmSource",
    "HookDeletePolicy",
    "HookType",
    "JsonnetSource",
    "JsonnetVar",
    "KustomizeReplica",
    "KustomizeSource",
    "OperationPhase",
    "PluginParameter",
    "PluginSource",
    "ResourceKey",
    "ResultCode",
    "SpecError",
    "SyncPhase",
    "SyncStatus",
    "format_tracking_id",
    "keys",
    "parse_tracking_id",
]
