"""``/api/v1/applications``: reading, writing, syncing and inspecting Applications.

Reads of the collection come from the watch-backed cache; reads of one object and
every write go to the cluster. Each call is authorised against ``applications``,
``<action>``, ``<project>/<name>``; a list silently leaves out what the caller may not
see. Syncs are requested as ``argocd app sync`` requests them, by writing the
``operation`` field, and refreshes by the ``argocd.argoproj.io/refresh`` annotation;
the controller does the rest.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, Field

from tether.diff.mask import mask_secrets
from tether.kube import KubeError, NotFound
from tether.model import (
    API_VERSION,
    Application,
    AppProject,
    Operation,
    OperationInitiator,
    ResourceKey,
    SpecError,
    SyncOperation,
    SyncOperationResource,
    SyncStrategy,
    keys,
)
from tether.server.audit import Reason, Subject
from tether.server.context import Caller, Ctx, ServerContext
from tether.server.errors import (
    BadInput,
    FailedPrecondition,
    NotFoundError,
    NotImplementedByServer,
    PermissionDenied,
    from_kube_error,
)
from tether.server.rbac import Action, Resource
from tether.server.selectors import SelectorError, parse_selector
from tether.server.tokens import TokenKind
from tether.server.views import (
    app_matches,
    application_object,
    check_name,
    parse_application,
)

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])
KIND = "Application"
MAX_LIMIT = 1000


class SyncResource(BaseModel):
    """One object of a partial sync."""

    group: str = Field(default="", max_length=253)
    kind: str = Field(max_length=253)
    name: str = Field(max_length=253)
    namespace: str = Field(default="", max_length=253)


class SyncOptionsItems(BaseModel):
    """``syncOptions``: Argo CD wraps the list in ``items``."""

    items: list[Annotated[str, Field(max_length=256)]] = Field(default_factory=list, max_length=64)


class SyncStrategyBody(BaseModel):
    """``strategy``: ``{"apply": {"force": ...}}`` or ``{"hook": {"force": ...}}``."""

    apply: dict[str, bool] | None = None
    hook: dict[str, bool] | None = None


class SyncRequest(BaseModel):
    """Argo CD's ``ApplicationSyncRequest``."""

    revision: str = Field(default="", max_length=256)
    prune: bool = False
    dryRun: bool = False  # noqa: N815 - Argo CD's field names
    resources: list[SyncResource] = Field(default_factory=list, max_length=1000)
    syncOptions: SyncOptionsItems | None = None  # noqa: N815
    strategy: SyncStrategyBody | None = None


class RollbackRequest(BaseModel):
    """Argo CD's ``ApplicationRollbackRequest``: the history entry to go back to."""

    id: int
    prune: bool = False
    dryRun: bool = False  # noqa: N815


def _object_name(app: Application) -> str:
    return f"{app.spec.project or 'default'}/{app.name}"


def _subject(obj: Mapping[str, Any]) -> Subject:
    metadata = obj.get("metadata") or {}
    return Subject(
        API_VERSION,
        KIND,
        str(metadata.get("name", "")),
        str(metadata.get("namespace", "")),
        str(metadata.get("uid", "")),
    )


async def _load(
    ctx: ServerContext, caller: Caller, name: str, action: str
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
    await ctx.enforce(caller, Resource.APPLICATIONS, action, _object_name(app))
    return obj, app


async def _patch(ctx: ServerContext, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    try:
        updated = await ctx.client.patch(API_VERSION, KIND, name, ctx.namespace, patch)
    except KubeError as error:
        raise from_kube_error(error) from error
    ctx.apps.observe(updated)
    return updated


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


def _decode_continue(token: str) -> str:
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode() + b"==").decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise BadInput("invalid continue token") from error


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
    limit: Annotated[int, Query(ge=0, le=MAX_LIMIT)] = 0,
    continue_: Annotated[str, Query(alias="continue", max_length=1024)] = "",
) -> Response:
    """Applications the caller may see, filtered, sorted by name, optionally paged."""
    policy = await ctx.policy(caller)
    cacheable = caller.kind is not TokenKind.PROJECT
    key = (ctx.apps.version, ctx.policy_generation, caller.subject, str(request.query_params))
    if cacheable and (page := ctx.pages.get(key)) is not None:
        return Response(page, media_type="application/json")
    try:
        labels_match = parse_selector(selector)
    except SelectorError as error:
        raise BadInput(str(error)) from error
    wanted_projects = {p for item in projects for p in item.split(",") if p}
    after = _decode_continue(continue_)
    may_get = policy.checker([caller.subject], Resource.APPLICATIONS, Action.GET)
    items: list[Mapping[str, Any]] = []
    next_token = ""
    for obj in ctx.apps.items():
        metadata = obj.get("metadata") or {}
        name = str(metadata.get("name", ""))
        if after and name <= after:
            continue
        project = str((obj.get("spec") or {}).get("project") or "default")
        if not may_get(f"{project}/{name}"):
            continue
        if not app_matches(
            obj,
            projects=wanted_projects,
            labels_match=labels_match,
            repo=repo,
            sync_statuses=set(syncStatus),
            health_statuses=set(healthStatus),
            search=search,
        ):
            continue
        if limit and len(items) == limit:
            next_token = base64.urlsafe_b64encode(items[-1]["metadata"]["name"].encode()).decode()
            next_token = next_token.rstrip("=")
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
    await ctx.enforce(caller, Resource.APPLICATIONS, Action.CREATE, _object_name(app))
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
        await ctx.enforce(caller, Resource.APPLICATIONS, Action.UPDATE, _object_name(old))
        await ctx.enforce(caller, Resource.APPLICATIONS, Action.UPDATE, _object_name(app))
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
    await ctx.auditor.record(caller.username, reason, _subject(result), action)
    return result


@router.get("/{name}")
async def get_application(
    name: str,
    caller: Caller,
    ctx: Ctx,
    refresh: Literal["normal", "hard"] | None = None,
) -> dict[str, Any]:
    """One Application; ``refresh`` asks the controller to compare again (``hard``: re-render)."""
    obj, _ = await _load(ctx, caller, name, Action.GET)
    if refresh:
        obj = await _patch(ctx, name, {"metadata": {"annotations": {keys.REFRESH: refresh}}})
        await ctx.auditor.record(
            caller.username,
            Reason.REFRESH_REQUESTED,
            _subject(obj),
            f"requested a {refresh} refresh of",
        )
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
    current, _ = await _load(ctx, caller, name, Action.UPDATE)
    await ctx.enforce(caller, Resource.APPLICATIONS, Action.UPDATE, _object_name(app))
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
    await ctx.auditor.record(caller.username, Reason.UPDATED, _subject(result), "updated")
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
    obj, app = await _load(ctx, caller, name, Action.DELETE)
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
        await _patch(
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
        _subject(obj),
        "deleted" if cascade else "deleted (without its resources)",
    )
    return {}


def _operation_running(obj: Mapping[str, Any]) -> bool:
    state = (obj.get("status") or {}).get("operationState") or {}
    return bool(obj.get("operation")) or state.get("phase") in ("Running", "Terminating")


@router.post("/{name}/sync")
async def sync_application(
    name: str, body: SyncRequest, caller: Caller, ctx: Ctx
) -> dict[str, Any]:
    """Request a sync by writing ``operation``, as ``argocd app sync`` does."""
    obj, app = await _load(ctx, caller, name, Action.SYNC)
    if _operation_running(obj):
        raise FailedPrecondition("another operation is already in progress")
    source = app.sources[0] if app.sources else None
    if (
        app.is_automated
        and body.revision
        and source is not None
        and body.revision != source.target_revision
    ):
        raise FailedPrecondition(
            f"cannot sync to {body.revision}: auto-sync currently set to "
            f"{source.target_revision or 'HEAD'}"
        )
    strategy = None
    if body.strategy is not None:
        if body.strategy.apply is not None and body.strategy.hook is not None:
            raise BadInput("strategy: apply and hook are mutually exclusive")
        chosen = "apply" if body.strategy.apply is not None else "hook"
        options = body.strategy.apply or body.strategy.hook or {}
        strategy = SyncStrategy(kind=chosen, force=bool(options.get("force")))
    operation = Operation(
        sync=SyncOperation(
            revision=body.revision or (source.target_revision if source else ""),
            prune=body.prune,
            dry_run=body.dryRun,
            sync_strategy=strategy,
            resources=tuple(
                SyncOperationResource(r.kind, r.name, r.group, r.namespace) for r in body.resources
            ),
            sync_options=tuple(body.syncOptions.items if body.syncOptions else ()),
        ),
        initiated_by=OperationInitiator(username=caller.username),
    )
    updated = await _patch(
        ctx,
        name,
        {
            "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
            "operation": operation.to_dict(),
        },
    )
    await ctx.auditor.record(
        caller.username,
        Reason.OPERATION_STARTED,
        _subject(updated),
        f"initiated sync to {operation.sync.revision if operation.sync else ''} of",
    )
    return updated


@router.put("/{name}/rollback")
async def rollback_application(
    name: str, body: RollbackRequest, caller: Caller, ctx: Ctx
) -> dict[str, Any]:
    """Sync back to a ``status.history`` entry (refused while auto-sync is on)."""
    obj, app = await _load(ctx, caller, name, Action.SYNC)
    if app.is_automated:
        raise FailedPrecondition("rollback cannot be initiated when auto-sync is enabled")
    if _operation_running(obj):
        raise FailedPrecondition("another operation is already in progress")
    entry = next((h for h in app.status.history if h.id == body.id), None)
    if entry is None:
        raise NotFoundError(f"application {name} has no history entry with id {body.id}")
    operation = Operation(
        sync=SyncOperation(
            revision=entry.revision,
            revisions=entry.revisions,
            source=entry.source,
            sources=entry.sources,
            prune=body.prune,
            dry_run=body.dryRun,
        ),
        initiated_by=OperationInitiator(username=caller.username),
    )
    updated = await _patch(
        ctx,
        name,
        {
            "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
            "operation": operation.to_dict(),
        },
    )
    await ctx.auditor.record(
        caller.username,
        Reason.OPERATION_STARTED,
        _subject(updated),
        f"initiated rollback to {body.id} of",
    )
    return updated


@router.delete("/{name}/operation")
async def terminate_operation(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Ask the controller to stop the running operation (``phase: Terminating``)."""
    obj, _ = await _load(ctx, caller, name, Action.SYNC)
    state = (obj.get("status") or {}).get("operationState") or {}
    if state.get("phase") != "Running":
        raise FailedPrecondition("unable to terminate operation. No operation is in progress")
    updated = await _patch(
        ctx,
        name,
        {
            "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
            "status": {"operationState": {"phase": "Terminating"}},
        },
    )
    await ctx.auditor.record(
        caller.username,
        Reason.OPERATION_TERMINATING,
        _subject(updated),
        "terminated the operation of",
    )
    return {}


@router.get("/{name}/resource-tree")
async def resource_tree(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """The app's live objects and their descendants (``ownerReferences``)."""
    _, app = await _load(ctx, caller, name, Action.GET)
    try:
        return await ctx.tree.tree(app)
    except KubeError as error:
        raise from_kube_error(error) from error


@router.get("/{name}/managed-resources")
async def managed_resources(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Live (and, when rendering is wired in, desired) state of each managed object."""
    _, app = await _load(ctx, caller, name, Action.GET)
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
    _, app = await _load(ctx, caller, name, Action.GET)
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
    kind: str,
    resourceName: str,  # noqa: N803 - Argo CD's query names
    namespace: str = "",
    group: str = "",
) -> dict[str, Any]:
    """The live object of a managed resource (Secret values masked), as ``{"manifest": ...}``."""
    _, app = await _load(ctx, caller, name, Action.GET)
    key = ResourceKey(group, kind, namespace, resourceName)
    try:
        live = await ctx.inspector.live_object(app, key)
    except NotFound as error:
        raise NotFoundError(str(error)) from error
    except KubeError as error:
        raise from_kube_error(error) from error
    return {"manifest": orjson.dumps(live).decode()}


@router.get("/{name}/manifests")
async def application_manifests(
    name: str, caller: Caller, ctx: Ctx, revision: str = ""
) -> dict[str, Any]:
    """The desired objects, rendered by the injected manifest source (Secrets masked)."""
    _, app = await _load(ctx, caller, name, Action.GET)
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
