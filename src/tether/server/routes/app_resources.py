"""``/api/v1/applications/{name}/...``: what an application is made of, live and desired.

Resource trees and managed-resource states come from the injected
:class:`~tether.server.interfaces.ResourceTree` and
:class:`~tether.server.interfaces.ManagedResources` (by default answered from the
cluster alone), manifests from the injected
:class:`~tether.server.interfaces.ManifestSource`. Secret values are masked in every
answer; only objects the application manages are served.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query

from tether.diff.mask import mask_secrets
from tether.kube import KubeError
from tether.model import ResourceKey
from tether.server.context import Caller, Ctx
from tether.server.errors import NotImplementedByServer, from_kube_error
from tether.server.rbac import Action
from tether.server.routes.appaccess import (
    KIND,
    load_application,
)
from tether.server.views import check_name

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])


@router.get("/{name}/resource-tree")
async def resource_tree(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """The app's live objects and their descendants (``ownerReferences``)."""
    _, app = await load_application(ctx, caller, name, Action.GET)
    try:
        return await ctx.tree.tree(app)
    except KubeError as error:
        raise from_kube_error(error) from error


@router.get("/{name}/managed-resources")
async def managed_resources(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Live (and, when rendering is wired in, desired) state of each managed object."""
    _, app = await load_application(ctx, caller, name, Action.GET)
    try:
        return {"items": await ctx.managed.managed_resources(app)}
    except KubeError as error:
        raise from_kube_error(error) from error


@router.get("/{name}/events")
async def application_events(
    name: str,
    caller: Caller,
    ctx: Ctx,
    resourceNamespace: str = "",  # noqa: N803 - Argo CD's query names
    resourceName: str = "",  # noqa: N803
) -> dict[str, Any]:
    """Events about the Application, or about one of its objects."""
    _, app = await load_application(ctx, caller, name, Action.GET)
    if resourceName:
        check_name(resourceName)
        check_name(resourceNamespace or app.spec.destination.namespace or "default")
        client = await ctx.inspector.clients(app)
        namespace = resourceNamespace or app.spec.destination.namespace
        selector = f"involvedObject.name={resourceName}"
    else:
        client, namespace = ctx.client, ctx.namespace
        selector = f"involvedObject.name={name},involvedObject.kind={KIND}"
    try:
        events = await client.list("v1", "Event", namespace, field_selector=selector)
    except KubeError as error:
        raise from_kube_error(error) from error
    return {"items": events.items, "metadata": {"resourceVersion": events.resource_version}}


@router.get("/{name}/resource")
async def live_resource(
    name: str,
    caller: Caller,
    ctx: Ctx,
    kind: Annotated[str, Query(max_length=253)],
    resourceName: Annotated[str, Query(max_length=253)],  # noqa: N803 - Argo CD's names
    namespace: Annotated[str, Query(max_length=253)] = "",
    group: Annotated[str, Query(max_length=253)] = "",
) -> dict[str, Any]:
    """The live object of a managed resource (Secret values masked), as ``{"manifest": ...}``."""
    _, app = await load_application(ctx, caller, name, Action.GET)
    key = ResourceKey(group, kind, namespace, resourceName)
    try:
        live = await ctx.inspector.live_object(app, key)
    except KubeError as error:  # NotFound included: a 404 naming the object
        raise from_kube_error(error) from error
    return {"manifest": orjson.dumps(live).decode()}


@router.get("/{name}/manifests")
async def application_manifests(
    name: str, caller: Caller, ctx: Ctx, revision: str = ""
) -> dict[str, Any]:
    """The desired objects, rendered by the injected manifest source (Secrets masked)."""
    _, app = await load_application(ctx, caller, name, Action.GET)
    if ctx.manifests is None:
        raise NotImplementedByServer(
            "failed to render application manifests: this server has no manifest source"
        )
    objects = await ctx.manifests.manifests(app, revision)
    masked = mask_secrets(*objects)
    return {
        "manifests": [orjson.dumps(o).decode() for o in masked if o is not None],
        "namespace": app.spec.destination.namespace,
        "server": app.spec.destination.server,
        "revision": revision,
    }
