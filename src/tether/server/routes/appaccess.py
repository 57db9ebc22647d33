"""Reading and writing one Application on behalf of a caller, shared by the routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tether.kube import KubeError, NotFound
from tether.model import API_VERSION, Application
from tether.server.audit import Subject
from tether.server.auth import Principal
from tether.server.context import ServerContext
from tether.server.errors import NotFoundError, PermissionDenied, from_kube_error
from tether.server.rbac import Resource
from tether.server.views import check_name, parse_application

KIND: Final = "Application"


def object_name(app: Application) -> str:
    """The RBAC object of an app: ``<project>/<name>``."""
    return f"{app.spec.project or 'default'}/{app.name}"


def subject_of(obj: Mapping[str, Any]) -> Subject:
    """The audit subject of an Application object."""
    metadata = obj.get("metadata") or {}
    return Subject(
        API_VERSION,
        KIND,
        str(metadata.get("name", "")),
        str(metadata.get("namespace", "")),
        str(metadata.get("uid", "")),
    )


async def load_application(
    ctx: ServerContext, caller: Principal, name: str, action: str
) -> tuple[dict[str, Any], Application]:
    """Read an app and authorise ``action`` on it.

    An unknown app is a 404 only for callers who could act on that name in any project;
    others get the same 403 as for an existing app, so names do not leak.
    """
    check_name(name)
    try:
        obj = await ctx.client.get(API_VERSION, KIND, name, ctx.namespace)
    except NotFound as error:
        if await ctx.allows(caller, Resource.APPLICATIONS, action, f"*/{name}"):
            raise NotFoundError(f"application {name} not found") from error
        raise PermissionDenied("permission denied") from error
    except KubeError as error:
        raise from_kube_error(error) from error
    app = parse_application(obj)
    await ctx.enforce(caller, Resource.APPLICATIONS, action, object_name(app))
    return obj, app


async def patch_application(ctx: ServerContext, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Merge-patch an Application and fold the result into the watch cache."""
    try:
        updated = await ctx.client.patch(API_VERSION, KIND, name, ctx.namespace, patch)
    except KubeError as error:
        raise from_kube_error(error) from error
    ctx.apps.observe(updated)
    return updated
