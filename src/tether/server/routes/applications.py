"""``/api/v1/applications``: listing, reading, creating, updating and deleting Applications.

Reads of the collection come from the watch-backed cache; reads of one object and
every write go to the cluster. Each call is authorised against ``applications``,
``<action>``, ``<project>/<name>``; a list silently leaves out what the caller may not
see. A refresh is requested by the ``argocd.argoproj.io/refresh`` annotation. Syncs
and the like are in :mod:`.app_operations`, inspection in :mod:`.app_resources`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Query, Request, Response

from tether.kube import KubeError, NotFound
from tether.model import (
    API_VERSION,
    Application,
    AppProject,
    SpecError,
    keys,
)
from tether.server.audit import Reason
from tether.server.context import Caller, Ctx, ServerContext
from tether.server.errors import (
    BadInput,
    from_kube_error,
)
from tether.server.rbac import Action, Resource
from tether.server.routes.appaccess import (
    KIND,
    load_application,
    object_name,
    patch_application,
    subject_of,
)
from tether.server.selectors import SelectorError, parse_selector
from tether.server.tokens import TokenKind
from tether.server.views import (
    AppFilter,
    SortBy,
    application_object,
    decode_continue,
    encode_continue,
    object_sort_key,
    parse_application,
)

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])
MAX_LIMIT = 1000


async def _check_project(ctx: ServerContext, app: Application) -> None:
    """The app's project exists and permits its sources and destination (as Argo CD checks)."""
    name = app.spec.project or "default"
    try:
        project = AppProject.from_dict(
            await ctx.client.get(API_VERSION, "AppProject", name, ctx.namespace)
        )
    except NotFound as error:
        raise BadInput(f"application references project {name} which does not exist") from error
    except (KubeError, SpecError) as error:
        raise BadInput(f"failed to read project {name}: {error}") from error
    for source in app.sources:
        permission = project.is_source_permitted(source.repo_url)
        if not permission:
            raise BadInput(permission.reason)
    destination = app.spec.destination
    permission = project.is_destination_permitted(
        destination.server, destination.name, destination.namespace
    )
    if not permission:
        raise BadInput(permission.reason)


@router.get("")
async def list_applications(
    request: Request,
    caller: Caller,
    ctx: Ctx,
    projects: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006 - FastAPI reads it
    selector: Annotated[str, Query(max_length=4096)] = "",
    repo: Annotated[str, Query(max_length=2048)] = "",
    syncStatus: Annotated[list[str], Query(max_length=10)] = [],  # noqa: B006, N803
    healthStatus: Annotated[list[str], Query(max_length=10)] = [],  # noqa: B006, N803
    search: Annotated[str, Query(max_length=253)] = "",
    destServer: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006, N803
    destNamespace: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006, N803
    autoSync: bool | None = None,  # noqa: N803
    sortBy: SortBy = SortBy.NAME,  # noqa: N803
    limit: Annotated[int, Query(ge=0, le=MAX_LIMIT)] = 0,
    continue_: Annotated[str, Query(alias="continue", max_length=1024)] = "",
) -> Response:
    """Applications the caller may see, filtered, sorted (``sortBy``), optionally paged.

    The order covers every app, not only one page: ``limit`` and ``continue`` walk it
    consistently (see :mod:`tether.server.views` for the orders and the token).
    """
    policy = await ctx.policy(caller)
    cacheable = caller.kind is not TokenKind.PROJECT
    key = (ctx.apps.version, ctx.policy_generation, caller.subject, str(request.query_params))
    if cacheable and (page := ctx.pages.get(key)) is not None:
        return Response(page, media_type="application/json")
    try:
        labels_match = parse_selector(selector)
    except SelectorError as error:
        raise BadInput(str(error)) from error
    wanted = AppFilter(
        projects=_split(projects),
        labels_match=labels_match,
        repo=repo,
        sync_statuses=frozenset(syncStatus),
        health_statuses=frozenset(healthStatus),
        search=search,
        dest_servers=_split(destServer),
        dest_namespaces=_split(destNamespace),
        auto_sync=autoSync,
    )
    after = decode_continue(continue_, sortBy)
    ordered = ctx.apps.ordered(sortBy, object_sort_key(sortBy))
    may_get = policy.checker([caller.subject], Resource.APPLICATIONS, Action.GET)
    items: list[Mapping[str, Any]] = []
    next_token = ""
    for obj in ordered.after(after):
        metadata = obj.get("metadata") or {}
        project = str((obj.get("spec") or {}).get("project") or "default")
        if not may_get(f"{project}/{metadata.get('name', '')}") or not wanted.matches(obj):
            continue
        if limit and len(items) == limit:
            next_token = encode_continue(items[-1], sortBy)
            break
        items.append(obj)
    page = orjson.dumps(
        {
            "items": items,
            "metadata": {"resourceVersion": ctx.apps.resource_version, "continue": next_token},
        }
    )
    if cacheable:
        ctx.pages.put(key, page)
    return Response(page, media_type="application/json")


def _split(values: list[str]) -> frozenset[str]:
    """Repeated and comma-separated query values as one set (``a,b&x=c`` is a, b and c)."""
    return frozenset(v for item in values for v in item.split(",") if v)


@router.post("")
async def create_application(
    caller: Caller,
    ctx: Ctx,
    body: Annotated[dict[str, Any], Body()],
    upsert: bool = False,
    validate: bool = True,
) -> dict[str, Any]:
    """Create an Application; an existing one with another spec needs ``upsert``."""
    app = parse_application(body, require_name=True)
    await ctx.enforce(caller, Resource.APPLICATIONS, Action.CREATE, object_name(app))
    if validate:
        await _check_project(ctx, app)
    wanted = application_object(app, ctx.namespace)
    try:
        existing = await ctx.client.get(API_VERSION, KIND, app.name, ctx.namespace)
    except NotFound:
        existing = None
    except KubeError as error:
        raise from_kube_error(error) from error
    if existing is not None:
        if existing.get("spec") == wanted["spec"]:
            return existing
        if not upsert:
            raise BadInput(
                "existing application spec is different, use upsert flag to force update"
            )
        old = parse_application(existing)
        await ctx.enforce(caller, Resource.APPLICATIONS, Action.UPDATE, object_name(old))
        await ctx.enforce(caller, Resource.APPLICATIONS, Action.UPDATE, object_name(app))
        existing["spec"] = wanted["spec"]
        for key in ("labels", "annotations"):
            existing["metadata"][key] = wanted["metadata"].get(key) or {}
        try:
            result = await ctx.client.replace(existing)
        except KubeError as error:
            raise from_kube_error(error) from error
        reason, action = Reason.UPDATED, "updated"
    else:
        try:
            result = await ctx.client.create(wanted)
        except KubeError as error:
            raise from_kube_error(error) from error
        reason, action = Reason.CREATED, "created"
    ctx.apps.observe(result)
    await ctx.auditor.record(caller.username, reason, subject_of(result), action)
    return result


@router.get("/{name}")
async def get_application(
    name: str,
    caller: Caller,
    ctx: Ctx,
    refresh: Literal["normal", "hard"] | None = None,
) -> dict[str, Any]:
    """One Application; ``refresh`` asks the controller to compare again (``hard``: re-render).

    As in Argo CD, a refresh answers once the controller has done it (it removes the
    annotation), or after the server's refresh timeout with the app as it then is.
    """
    obj, _ = await load_application(ctx, caller, name, Action.GET)
    if not refresh:
        return obj
    # Subscribe before asking, so that the controller's answer cannot be missed.
    with ctx.apps.subscribe() as changes:
        obj = await patch_application(
            ctx, name, {"metadata": {"annotations": {keys.REFRESH: refresh}}}
        )
        await ctx.auditor.record(
            caller.username,
            Reason.REFRESH_REQUESTED,
            subject_of(obj),
            f"requested a {refresh} refresh of",
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ctx.refresh_timeout):
                while (change := await changes.get()) is not None:
                    metadata = change.object.get("metadata") or {}
                    if metadata.get("name") != name:
                        continue
                    if change.type == "DELETED":
                        break
                    obj = dict(change.object)
                    if keys.REFRESH not in (metadata.get("annotations") or {}):
                        break
    return obj


@router.put("/{name}")
async def update_application(
    name: str,
    caller: Caller,
    ctx: Ctx,
    body: Annotated[dict[str, Any], Body()],
    validate: bool = True,
) -> dict[str, Any]:
    """Replace an Application's spec, labels and annotations (status is kept)."""
    app = parse_application(body, require_name=True)
    if app.name != name:
        raise BadInput(f"the body names application {app.name}, the path {name}")
    current, _ = await load_application(ctx, caller, name, Action.UPDATE)
    await ctx.enforce(caller, Resource.APPLICATIONS, Action.UPDATE, object_name(app))
    if validate:
        await _check_project(ctx, app)
    wanted = application_object(app, ctx.namespace)
    current["spec"] = wanted["spec"]
    for key in ("labels", "annotations"):
        current["metadata"][key] = wanted["metadata"].get(key) or {}
    try:
        result = await ctx.client.replace(current)
    except KubeError as error:
        raise from_kube_error(error) from error
    ctx.apps.observe(result)
    await ctx.auditor.record(caller.username, Reason.UPDATED, subject_of(result), "updated")
    return result


@router.delete("/{name}")
async def delete_application(
    name: str,
    caller: Caller,
    ctx: Ctx,
    cascade: bool = True,
    propagationPolicy: Literal["foreground", "background"] = "foreground",  # noqa: N803
) -> dict[str, Any]:
    """Delete an Application; ``cascade`` (default) deletes its objects through the finalizer."""
    obj, app = await load_application(ctx, caller, name, Action.DELETE)
    finalizers = [
        f
        for f in app.metadata.finalizers
        if f not in (keys.RESOURCES_FINALIZER, keys.RESOURCES_FINALIZER_BACKGROUND)
    ]
    if cascade:
        finalizers.append(
            keys.RESOURCES_FINALIZER
            if propagationPolicy == "foreground"
            else keys.RESOURCES_FINALIZER_BACKGROUND
        )
    if finalizers != list(app.metadata.finalizers):
        version = obj["metadata"]["resourceVersion"]
        await patch_application(
            ctx, name, {"metadata": {"finalizers": finalizers, "resourceVersion": version}}
        )
    try:
        await ctx.client.delete(API_VERSION, KIND, name, ctx.namespace)
    except NotFound:
        pass
    except KubeError as error:
        raise from_kube_error(error) from error
    await ctx.auditor.record(
        caller.username,
        Reason.DELETED,
        subject_of(obj),
        "deleted" if cascade else "deleted (without its resources)",
    )
    return {}
