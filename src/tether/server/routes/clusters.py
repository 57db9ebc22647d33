"""``/api/v1/clusters``: destination clusters, their credentials write-only.

A cluster is identified by its API server URL. Its ``config`` (bearer token, basic-auth
password, TLS client key, exec and cloud settings) is stored in the Secret's ``config``
key as Argo CD stores it and is never returned: reads show only the TLS settings that
are not secret. The in-cluster destination (``https://kubernetes.default.svc``) is
always listed, as Argo CD lists it, whether or not a Secret names it.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tether.model import keys
from tether.server.audit import Reason, Subject
from tether.server.context import Caller, Ctx
from tether.server.credentials import CredentialKind, CredentialSecrets
from tether.server.errors import BadInput, NotFoundError
from tether.server.rbac import Action, Resource
from tether.server.routes.credentialwrites import write_credentials
from tether.server.tree import IN_CLUSTER_NAME, IN_CLUSTER_SERVER

router = APIRouter(prefix="/api/v1/clusters", tags=["clusters"])

CLUSTER = CredentialKind(
    secret_type=keys.SECRET_TYPE_CLUSTER,
    name_prefix="cluster",
    key_field="server",
    normalize=lambda server: server.rstrip("/"),
    sensitive=frozenset({"config"}),
)

#: ``tlsClientConfig`` fields that are not secret and may be shown.
_PUBLIC_TLS = ("insecure", "serverName", "caData", "certData")


class ClusterBody(BaseModel):
    """Argo CD's ``Cluster`` as written by clients."""

    model_config = ConfigDict(extra="ignore")

    server: str = Field(max_length=2048, pattern=r"^https?://[^\s]+$")
    name: str = Field(default="", max_length=253)
    namespaces: list[str] = Field(default_factory=list, max_length=1000)
    project: str = Field(default="", max_length=253)
    clusterResources: bool = False  # noqa: N815 - Argo CD's field names
    config: dict[str, Any] | None = None

    def fields(self) -> dict[str, str]:
        """The Secret data this body writes."""
        out = {"server": self.server.rstrip("/"), "name": self.name or self.server}
        if self.namespaces:
            out["namespaces"] = ",".join(self.namespaces)
        if self.project:
            out["project"] = self.project
        if self.clusterResources:
            out["clusterResources"] = "true"
        if self.config is not None:
            out["config"] = orjson.dumps(self.config).decode()
        return out


def cluster_view(fields: dict[str, str]) -> dict[str, Any]:
    """What a client sees of a cluster: no token, password or key."""
    try:
        config = orjson.loads(fields.get("config") or "{}")
    except orjson.JSONDecodeError:
        config = {}
    tls = config.get("tlsClientConfig") if isinstance(config, dict) else None
    shown_tls = {k: tls[k] for k in _PUBLIC_TLS if isinstance(tls, dict) and k in tls}
    view: dict[str, Any] = {
        "server": fields.get("server", ""),
        "name": fields.get("name", ""),
        "config": {"tlsClientConfig": shown_tls} if shown_tls else {},
    }
    if fields.get("namespaces"):
        view["namespaces"] = fields["namespaces"].split(",")
    if fields.get("project"):
        view["project"] = fields["project"]
    if fields.get("clusterResources") == "true":
        view["clusterResources"] = True
    return view


_IN_CLUSTER = {"server": IN_CLUSTER_SERVER, "name": IN_CLUSTER_NAME}


def _object(fields: dict[str, str]) -> str:
    project, server = fields.get("project", ""), fields.get("server", "")
    return f"{project}/{server}" if project else server


@router.get("")
async def list_clusters(caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """The clusters the caller may see, the in-cluster destination included."""
    store = CredentialSecrets(ctx.client, ctx.namespace, CLUSTER)
    stored = await store.all()
    if all(f.get("server", "").rstrip("/") != IN_CLUSTER_SERVER for f in stored):
        stored.insert(0, dict(_IN_CLUSTER))
    policy = await ctx.policy(caller)
    items = [
        cluster_view(f)
        for f in stored
        if policy.allows([caller.subject], Resource.CLUSTERS, Action.GET, _object(f))
    ]
    return {"items": items}


@router.get("/{server:path}")
async def get_cluster(server: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """One cluster by API server URL (URL-encoded in the path)."""
    store = CredentialSecrets(ctx.client, ctx.namespace, CLUSTER)
    found = await store.find(server)
    fields = found[1] if found else {"server": server}
    await ctx.enforce(caller, Resource.CLUSTERS, Action.GET, _object(fields))
    if found is None:
        if server.rstrip("/") == IN_CLUSTER_SERVER:
            return cluster_view(dict(_IN_CLUSTER))
        raise NotFoundError(f"cluster {server} not found")
    return cluster_view(fields)


@router.post("")
async def create_cluster(
    body: ClusterBody, caller: Caller, ctx: Ctx, upsert: bool = False
) -> dict[str, Any]:
    """Add a cluster (``upsert`` replaces an existing one)."""
    fields = body.fields()
    await ctx.enforce(caller, Resource.CLUSTERS, Action.CREATE, _object(fields))
    written = await write_credentials(
        ctx,
        caller,
        CLUSTER,
        body.server,
        fields,
        create=True,
        upsert=upsert,
        about=f"cluster {body.server}",
    )
    return cluster_view(written)


@router.put("/{server:path}")
async def update_cluster(
    server: str, body: ClusterBody, caller: Caller, ctx: Ctx
) -> dict[str, Any]:
    """Update a cluster; an omitted ``config`` keeps the stored credentials."""
    if server.rstrip("/") != body.server.rstrip("/"):
        raise BadInput("the body names another cluster than the path")
    fields = body.fields()
    await ctx.enforce(caller, Resource.CLUSTERS, Action.UPDATE, _object(fields))
    written = await write_credentials(
        ctx,
        caller,
        CLUSTER,
        body.server,
        fields,
        create=False,
        upsert=True,
        about=f"cluster {body.server}",
    )
    return cluster_view(written)


@router.delete("/{server:path}")
async def delete_cluster(server: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Remove a cluster's Secret."""
    store = CredentialSecrets(ctx.client, ctx.namespace, CLUSTER)
    found = await store.find(server)
    fields = found[1] if found else {"server": server}
    await ctx.enforce(caller, Resource.CLUSTERS, Action.DELETE, _object(fields))
    await store.delete(server)
    await ctx.auditor.record(
        caller.username,
        Reason.DELETED,
        Subject("v1", "Secret", store.secret_name(server), ctx.namespace),
        "removed",
        about=f"cluster {server}",
    )
    return {}
