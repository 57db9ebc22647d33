"""Every annotation, label, finalizer and Secret-type key tether reads or writes.

Keys in the ``argocd.argoproj.io/`` namespace mean exactly what they mean to Argo CD,
so repositories written for Argo CD work unchanged. tether's own extensions use the
``tether.dev/`` prefix and never borrow Argo CD's.
"""

from typing import Final

ARGOCD_PREFIX: Final = "argocd.argoproj.io/"
TETHER_PREFIX: Final = "tether.dev/"

# --- resource tracking -------------------------------------------------------------
#: Annotation tracking: ``<app>:<group>/<kind>:<namespace>/<name>`` (Argo CD's default).
TRACKING_ID: Final = "argocd.argoproj.io/tracking-id"
#: Label tracking: the value is the application's name.
INSTANCE_LABEL: Final = "app.kubernetes.io/instance"
#: Set on objects created by tether so that other tools can tell who manages them.
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"

# --- sync behaviour ----------------------------------------------------------------
SYNC_WAVE: Final = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS: Final = "argocd.argoproj.io/sync-options"
COMPARE_OPTIONS: Final = "argocd.argoproj.io/compare-options"
HOOK: Final = "argocd.argoproj.io/hook"
HOOK_DELETE_POLICY: Final = "argocd.argoproj.io/hook-delete-policy"
HELM_HOOK: Final = "helm.sh/hook"
HELM_HOOK_WEIGHT: Final = "helm.sh/hook-weight"
HELM_HOOK_DELETE_POLICY: Final = "helm.sh/hook-delete-policy"
#: ``keep`` protects an object from deletion, read by Argo CD as ``Delete=false``.
HELM_RESOURCE_POLICY: Final = "helm.sh/resource-policy"

# --- application lifecycle ---------------------------------------------------------
REFRESH: Final = "argocd.argoproj.io/refresh"
MANIFEST_GENERATE_PATHS: Final = "argocd.argoproj.io/manifest-generate-paths"
SKIP_RECONCILE: Final = "argocd.argoproj.io/skip-reconcile"
RESOURCES_FINALIZER: Final = "resources-finalizer.argocd.argoproj.io"
RESOURCES_FINALIZER_BACKGROUND: Final = "resources-finalizer.argocd.argoproj.io/background"
PRE_DELETE_FINALIZER: Final = "pre-delete-finalizer.argocd.argoproj.io"
POST_DELETE_FINALIZER: Final = "post-delete-finalizer.argocd.argoproj.io"

# --- repository and cluster Secrets ------------------------------------------------
SECRET_TYPE_LABEL: Final = "argocd.argoproj.io/secret-type"
SECRET_TYPE_REPOSITORY: Final = "repository"
SECRET_TYPE_REPO_CREDS: Final = "repo-creds"
SECRET_TYPE_CLUSTER: Final = "cluster"

#: ``"true"`` on a resource whose health must not affect its application's.
IGNORE_HEALTHCHECK: Final = "argocd.argoproj.io/ignore-healthcheck"
#: Argo CD's finalizer on hooks, held until the hook's outcome is recorded.
HOOK_FINALIZER: Final = "argocd.argoproj.io/hook-finalizer"

# --- Kubernetes keys tether reads --------------------------------------------------
LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
DEPLOYMENT_REVISION: Final = "deployment.kubernetes.io/revision"
#: autoscaling/v1 HorizontalPodAutoscalers carry their v2 conditions in this annotation.
HPA_CONDITIONS: Final = "autoscaling.alpha.kubernetes.io/conditions"

# --- tether extensions -------------------------------------------------------------
#: ``<app>[,<app>...]`` (same namespace, or ``ns/app``): sync waits for these apps.
DEPENDS_ON: Final = "tether.dev/depends-on"

#: On a generated Application: the name of the ApplicationSet that owns it.
APPLICATIONSET_LABEL: Final = "tether.dev/applicationset"

#: On a hook: ``<sync id>/<phase>`` of the operation that created it (resume without re-running).
SYNC_ID: Final = "tether.dev/sync-id"

#: On an Application being deleted: its PreDelete and PostDelete hooks all completed.
#: Written before the hooks are removed, so a restarted controller does not run them again.
DELETE_HOOKS_COMPLETED: Final = "tether.dev/delete-hooks-completed"

#: The field manager tether uses for server-side apply.
FIELD_MANAGER: Final = "tether"
