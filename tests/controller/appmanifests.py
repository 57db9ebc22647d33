"""Manifests the controller tests create: Applications, AppProjects and plain objects."""

from __future__ import annotations

from typing import Any

NAMESPACE = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"

CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  annotations: {annotations}
data:
  color: {color}
"""


def configmap(name: str, color: str = "blue", **annotations: str) -> str:
    """A ConfigMap manifest as a repository file holds it."""
    shown = "{" + ", ".join(f'"{k}": "{v}"' for k, v in annotations.items()) + "}"
    return CONFIGMAP.format(name=name, color=color, annotations=shown)


def application(
    name: str,
    repo_url: str,
    destination_ns: str,
    *,
    path: str = "app",
    project: str = "default",
    automated: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    finalizers: list[str] | None = None,
    server: str = IN_CLUSTER,
) -> dict[str, Any]:
    """An Application of ``path`` at ``main`` in ``repo_url``, deploying to ``destination_ns``."""
    spec: dict[str, Any] = {
        "project": project,
        "source": {"repoURL": repo_url, "path": path, "targetRevision": "main"},
        "destination": {"server": server, "namespace": destination_ns},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
    }
    if automated is not None:
        spec["syncPolicy"]["automated"] = automated
    metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if annotations:
        metadata["annotations"] = annotations
    if finalizers:
        metadata["finalizers"] = finalizers
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata,
        "spec": spec,
    }


def project(name: str, **spec: Any) -> dict[str, Any]:
    """An AppProject allowing every source and destination, plus ``spec``."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        }
        | spec,
    }


def manual_sync(revision: str = "main", username: str = "admin") -> dict[str, Any]:
    """The ``operation`` a user's sync request writes."""
    return {
        "operation": {
            "sync": {"revision": revision, "prune": True},
            "initiatedBy": {"username": username},
        }
    }


def conditions_of(app: dict[str, Any]) -> dict[str, str]:
    """An app's conditions as ``{type: message}``."""
    return {c["type"]: c["message"] for c in (app.get("status") or {}).get("conditions") or []}
