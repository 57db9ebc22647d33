"""Cluster Secrets: registering a destination cluster the way Argo CD stores it.

:func:`cluster_secret` turns one context of a kubeconfig into an Argo CD cluster
Secret (label ``argocd.argoproj.io/secret-type: cluster``, ``stringData`` with
``name``, ``server`` and ``config``), which :mod:`~tether.controller.clusters` reads
back. ``tether cluster add CONTEXT`` writes it into the control namespace.

Credentials are copied as they are (a bearer token, or a client certificate and key;
files named by the kubeconfig are read and embedded): no ServiceAccount is created in
the target cluster. Exec and auth-provider plugins cannot be stored in a Secret and are
refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tether.model import keys


class ClusterSecretError(ValueError):
    """A kubeconfig context cannot be turned into a cluster Secret."""


def _named(config: Mapping[str, Any], section: str, name: str, context: str) -> dict[str, Any]:
    for entry in config.get(section) or []:
        if isinstance(entry, Mapping) and entry.get("name") == name:
            return dict(entry.get(section.rstrip("s")) or {})
    raise ClusterSecretError(
        f"failed to read context {context}: no {section.rstrip('s')} named {name!r}"
    )


def _embedded(entry: Mapping[str, Any], key: str, base: Path) -> str:
    """``<key>-data`` as it is, or the file ``<key>`` names, base64-encoded."""
    if entry.get(f"{key}-data"):
        return str(entry[f"{key}-data"])
    if entry.get(key):
        path = Path(str(entry[key]))
        return base64.b64encode((base / path).read_bytes()).decode()
    return ""


def secret_name(server: str) -> str:
    """A stable Secret name for ``server``: ``cluster-<host>-<hash>``, as Argo CD names them."""
    host = (urlparse(server).hostname or "cluster").replace(".", "-")[:40]
    digest = hashlib.sha256(server.encode()).hexdigest()[:10]
    return f"cluster-{host}-{digest}"


def cluster_secret(
    kubeconfig: Mapping[str, Any],
    context: str,
    namespace: str,
    *,
    name: str = "",
    base_dir: Path = Path(),
) -> dict[str, Any]:
    """The cluster Secret for ``context`` of ``kubeconfig``, named ``name`` (default: context).

    ``base_dir`` resolves relative certificate paths (the kubeconfig's folder).
    """
    contexts = {c.get("name"): c.get("context") or {} for c in kubeconfig.get("contexts") or []}
    if context not in contexts:
        raise ClusterSecretError(f"failed to read context {context}: it does not exist")
    selected = contexts[context]
    cluster = _named(kubeconfig, "clusters", str(selected.get("cluster", "")), context)
    user = _named(kubeconfig, "users", str(selected.get("user", "")), context)
    server = str(cluster.get("server", "")).rstrip("/")
    if not server:
        raise ClusterSecretError(f"failed to read context {context}: its cluster has no server")
    if user.get("exec") or user.get("auth-provider"):
        raise ClusterSecretError(
            f"failed to read context {context}: exec and auth-provider credentials cannot be "
            "stored in a cluster Secret; use a token or a client certificate"
        )
    try:
        tls = {
            "caData": _embedded(cluster, "certificate-authority", base_dir),
            "certData": _embedded(user, "client-certificate", base_dir),
            "keyData": _embedded(user, "client-key", base_dir),
            "insecure": bool(cluster.get("insecure-skip-tls-verify")),
        }
    except OSError as error:
        raise ClusterSecretError(
            f"failed to read context {context}: {error.strerror}: {error.filename}"
        ) from error
    config: dict[str, Any] = {"tlsClientConfig": {k: v for k, v in tls.items() if v}}
    token = user.get("token") or ""
    if user.get("tokenFile"):
        token = (base_dir / str(user["tokenFile"])).read_text().strip()
    if token:
        config["bearerToken"] = token
    if not token and not tls["certData"]:
        raise ClusterSecretError(
            f"failed to read context {context}: it has neither a token nor a client certificate"
        )
    display = name or context
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(server),
            "namespace": namespace,
            "labels": {keys.SECRET_TYPE_LABEL: keys.SECRET_TYPE_CLUSTER},
        },
        "type": "Opaque",
        "stringData": {"name": display, "server": server, "config": json.dumps(config)},
    }
