"""Health assessment: is what runs working?

Each check turns one live object into a :class:`tether.model.Health` verdict with
Argo CD's statuses (Healthy, Suspended, Progressing, Missing, Degraded, Unknown) and
messages. Built-in checks live one module per kind; custom checks are Lua 5.1 scripts
in Argo CD's formats, run in a sandbox. A check that fails gives ``Unknown`` with the
error as its message; it never raises. An application's health is the worst health
of its direct resources.

Entry points
------------
- :func:`assess_health` ``(obj, *, overrides=None, policy=DEFAULT_POLICY)`` → the
  verdict on one object, or ``None`` when no check applies (a ConfigMap, a Secret, an
  ``Active`` Namespace), as Argo CD reports no health for them.
- :func:`assess_app_health` ``(resources, *, app=None, overrides=None, policy=...)`` →
  :class:`AppHealth`: the application's health and each resource's verdict, by Argo
  CD's aggregation rules (see :mod:`tether.health.app_health`: hooks and
  ``ignore-healthcheck`` resources are left out, Missing resources only count when
  nothing is live, a child Application's Missing/Unknown does not count).
- :func:`load_overrides` ``(settings=<ConfigMap data>, directory=<path>)`` →
  :class:`HealthOverrides`, the custom Lua checks: the settings ConfigMap's
  (:mod:`tether.health.settings`), an operator's directory
  (:mod:`tether.health.directory`) and tether's bundled ones, in the lookup order of
  :mod:`tether.health.customizations`. ``assess_health(obj)`` without overrides runs
  built-in checks only.

Which check judges an object
----------------------------
1. An object with ``metadata.deletionTimestamp`` → Progressing, "Pending deletion"
   (unless Argo CD's hook finalizer holds it: hooks are judged until recorded).
2. A custom Lua check for its group and kind, if one is configured: it replaces the
   built-in one, as in Argo CD.
3. The built-in check of its group and kind: Deployment, ReplicaSet, StatefulSet,
   DaemonSet (``apps/v1``), Pod, Service, PersistentVolumeClaim, Namespace (``v1``),
   Ingress (``networking.k8s.io``, ``extensions``), Job and CronJob (``batch/v1``),
   HorizontalPodAutoscaler (``autoscaling`` v1, v2beta1, v2beta2, v2), APIService
   (``apiregistration.k8s.io`` v1, v1beta1), Argo Workflows' ``Workflow``, and, only
   when :attr:`HealthPolicy.application_health` is set, ``argoproj.io/Application``.
   Each module's docstring states its rules; conditions and messages are Argo CD's.
   A version the check does not know, or a field of the wrong type, gives ``Unknown``
   with Argo CD's message ("unsupported Deployment GVK: apps/v1beta1,
   Kind=Deployment", "failed to convert unstructured Pod to typed: ...").
4. For custom resources only (API groups not served by kube-apiserver itself), when
   nothing above applies: the generic ``Ready``/``Available`` condition check of
   :mod:`tether.health.conditions`. This is tether's extension; Argo CD has no verdict
   for such objects, and ``HealthPolicy(generic_conditions=False)`` turns it off.
5. Otherwise no verdict (``None``).

Where tether's behaviour was chosen among Argo CD releases
----------------------------------------------------------
Messages follow current Argo CD ("less than", not the old "less then"). CronJob, a Lua
check in Argo CD, is built in with the rules of its documentation (suspended →
Suspended; running jobs → Progressing; last run failed → Degraded). A
HorizontalPodAutoscaler reports a failing metric as Degraded even when an earlier
condition reads well. A Pod without ``spec.restartPolicy`` is judged as ``Always``,
the API server's default. A ``Pending`` PersistentVolumeClaim is Progressing, as
Argo CD's long-standing check has it.

Lua sandbox
-----------
:mod:`tether.health.sandbox`: a fresh environment per run, only safe libraries
(``string`` and ``math`` added by ``useOpenLibs``; never ``io``, unsafe ``os``,
``require``, ``load*``, ``dofile``, ``debug``, ``string.dump``), only JSON values
from the object (never a Python object), an instruction budget, a CPU-time budget
(one second, Argo CD's timeout) and a memory budget; scripts compile once per text.
Violations, errors, a bad return value, an exhausted budget: ``Unknown`` with the
reason, never an exception and never a hang.
"""

from tether.health.app_health import (
    IGNORE_HEALTHCHECK,
    AppHealth,
    ManagedResource,
    ResourceHealth,
    assess_app_health,
)
from tether.health.assessment import HOOK_FINALIZER, assess_health, split_api_version
from tether.health.customizations import BUNDLED_DIRECTORY, HealthOverrides, load_overrides
from tether.health.directory import CheckDirectory
from tether.health.errors import CustomizationError, FieldTypeError, HealthError
from tether.health.lua_check import LuaHealthCheck, default_sandbox
from tether.health.policy import DEFAULT_POLICY, HealthPolicy
from tether.health.sandbox import Limits, LuaSandbox, ScriptError

__all__ = [
    "BUNDLED_DIRECTORY",
    "DEFAULT_POLICY",
    "HOOK_FINALIZER",
    "IGNORE_HEALTHCHECK",
    "AppHealth",
    "CheckDirectory",
    "CustomizationError",
    "FieldTypeError",
    "HealthError",
    "HealthOverrides",
    "HealthPolicy",
    "Limits",
    "LuaHealthCheck",
    "LuaSandbox",
    "ManagedResource",
    "ResourceHealth",
    "ScriptError",
    "assess_app_health",
    "assess_health",
    "default_sandbox",
    "load_overrides",
    "split_api_version",
]
