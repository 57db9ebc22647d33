"""Destination clusters: a client and a live cache for each.

The management cluster itself is the destination ``in-cluster`` at
``https://kubernetes.default.svc``, as in Argo CD. Other clusters come from Argo CD
cluster Secrets (``argocd.argoproj.io/secret-type: cluster`` with ``name``, ``server``
and ``config``); each gets its own connection and cache, opened on first use, and a
connection state (Successful; Failed, with the watch error; Unknown while unused).

A connection also knows its cluster's Kubernetes version once read, and the registry
hands every client it opens a request observer for the cluster (the controller's
``argocd_app_k8s_request_total``).
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tether.kube import ClusterConfig, KubeClient, KubeError, kubeconfig_from_dict
from tether.kube.client import RequestObserver
from tether.live import CHILD_KINDS, ClusterCache, TrackingMethod
from tether.model import keys

IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"


class UnknownDestination(LookupError):
    """No registered cluster matches an application's destination."""


class ConnectionStatus(StrEnum):
    """Whether tether can talk to a destination cluster (Argo CD's values)."""

    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """A destination's connection status and, when it failed, why."""

    status: ConnectionStatus
    message: str = ""


@dataclass
class ClusterConnection:
    """One destination cluster: how it is named, its client and its live cache."""

    name: str
    server: str
    client: KubeClient
    cache: ClusterCache
    #: Every ``(apiVersion, kind)`` the cache was asked to watch.
    kinds: set[tuple[str, str]] = field(default_factory=set)
    #: The cluster's Kubernetes version (``gitVersion``); empty until read.
    k8s_version: str = ""

    async def read_version(self) -> bool:
        """Read the cluster's Kubernetes version; ``False`` when the cluster did not answer."""
        try:
            self.k8s_version = str((await self.client.version()).get("gitVersion", ""))
        except KubeError:
            return False
        return True

    async def await_version(self, *, max_delay: float = 60.0) -> None:
        """Read the version, trying again (backing off) while the cluster does not answer."""
        delay = 1.0
        while not await self.read_version():
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)

    def watch_kinds_of(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Make sure the cache watches the kinds of ``objects`` (and their children)."""
        kinds = {(str(o.get("apiVersion", "")), str(o.get("kind", ""))) for o in objects}
        wanted = kinds | set(CHILD_KINDS)
        if wanted <= self.kinds:
            return
        self.kinds |= wanted
        # The watches serve every app of the cluster: they start in a context of their
        # own, not in that of the app whose refresh first needed them (whose context
        # would attribute their requests to it, see tether.controller.metrics).
        contextvars.Context().run(self.cache.watch_kinds, sorted(wanted))

    def connection_state(self) -> ConnectionState:
        """Failed while a watch of this cluster fails; Unknown until an app uses it."""
        errors = self.cache.errors
        if errors:
            kind, message = sorted(errors.items())[0]
            return ConnectionState(
                ConnectionStatus.FAILED, f"failed to watch {kind} on {self.name}: {message}"
            )
        if not self.kinds:
            return ConnectionState(ConnectionStatus.UNKNOWN, "no application uses this cluster")
        return ConnectionState(ConnectionStatus.SUCCESSFUL)


def _secret_data(secret: Mapping[str, Any]) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    return data | {str(k): str(v) for k, v in (secret.get("stringData") or {}).items()}


def cluster_config_from_secret(secret: Mapping[str, Any]) -> tuple[str, str, ClusterConfig]:
    """``(name, server, config)`` of an Argo CD cluster Secret.

    ``config`` holds ``bearerToken`` and ``tlsClientConfig`` (``caData``, ``certData``,
    ``keyData``, ``insecure``). Secret values never appear in errors.
    """
    data = _secret_data(secret)
    server = data.get("server", "").rstrip("/")
    name = data.get("name") or server
    try:
        config = json.loads(data.get("config") or "{}")
    except json.JSONDecodeError as error:
        raise ValueError(f"failed to read cluster secret {name}: config is not JSON") from error
    tls = config.get("tlsClientConfig") or {}
    cluster: dict[str, Any] = {"server": server}
    if tls.get("caData"):
        cluster["certificate-authority-data"] = tls["caData"]
    if tls.get("insecure"):
        cluster["insecure-skip-tls-verify"] = True
    user: dict[str, Any] = {}
    if config.get("bearerToken"):
        user["token"] = config["bearerToken"]
    if tls.get("certData"):
        user["client-certificate-data"] = tls["certData"]
        user["client-key-data"] = tls.get("keyData", "")
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
    }
    return name, server, kubeconfig_from_dict(kubeconfig)


class ClusterRegistry:
    """The destination clusters the controller may deploy to."""

    def __init__(
        self,
        management: KubeClient,
        *,
        tracking: TrackingMethod,
        observer_for: Callable[[str], RequestObserver] | None = None,
    ) -> None:
        """Start with the management cluster as ``in-cluster``.

        ``observer_for(server)`` gives the request observer of each client opened for a
        cluster Secret (the management client comes with its own).
        """
        self._tracking = tracking
        self._observer_for = observer_for
        self._connections: dict[str, ClusterConnection] = {
            IN_CLUSTER_SERVER: ClusterConnection(
                IN_CLUSTER_NAME,
                IN_CLUSTER_SERVER,
                management,
                ClusterCache(management, tracking=tracking),
            )
        }
        self._names = {IN_CLUSTER_NAME: IN_CLUSTER_SERVER}

    @property
    def connections(self) -> list[ClusterConnection]:
        """Every registered cluster."""
        return list(self._connections.values())

    def register_secrets(self, secrets: Iterable[Mapping[str, Any]]) -> list[str]:
        """Add clusters from cluster Secrets; returns one message per unusable Secret."""
        problems = []
        for secret in secrets:
            labels = (secret.get("metadata") or {}).get("labels") or {}
            if labels.get(keys.SECRET_TYPE_LABEL) != keys.SECRET_TYPE_CLUSTER:
                continue
            try:
                name, server, config = cluster_config_from_secret(secret)
            except (ValueError, KeyError) as error:
                problems.append(str(error))
                continue
            if server in self._connections:
                continue
            observer = self._observer_for(server) if self._observer_for is not None else None
            client = KubeClient(config, observer=observer)
            self._connections[server] = ClusterConnection(
                name, server, client, ClusterCache(client, tracking=self._tracking)
            )
            self._names[name] = server
        return problems

    def resolve(self, server: str, name: str) -> ClusterConnection:
        """The cluster an application's destination names (by server URL, else by name)."""
        if server:
            found = self._connections.get(server.rstrip("/"))
        else:
            found = self._connections.get(self._names.get(name, ""))
        if found is None:
            raise UnknownDestination(
                f"there are no clusters with this {'URL' if server else 'name'}: {server or name}"
            )
        return found

    async def close(self) -> None:
        """Stop every cache and close the clients of non-management clusters."""
        for connection in self._connections.values():
            await connection.cache.close()
            if connection.server != IN_CLUSTER_SERVER:
                await connection.client.close()
