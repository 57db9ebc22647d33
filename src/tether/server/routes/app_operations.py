"""``/api/v1/applications/{name}``: sync, rollback and termination of operations.

A sync or rollback is requested exactly as ``argocd app sync`` requests it, by writing
the Application's top-level ``operation`` (with the resourceVersion read, so two
concurrent requests cannot both succeed); termination sets
``status.operationState.phase: Terminating``. The controller does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tether.model import (
    Operation,
    OperationInitiator,
    SyncOperation,
    SyncOperationResource,
    SyncStrategy,
)
from tether.server.audit import Reason
from tether.server.context import Caller, Ctx
from tether.server.errors import BadInput, FailedPrecondition, NotFoundError
from tether.server.rbac import Action
from tether.server.routes.appaccess import (
    load_application,
    patch_application,
    subject_of,
)

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])


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


def _operation_running(obj: Mapping[str, Any]) -> bool:
    state = (obj.get("status") or {}).get("operationState") or {}
    return bool(obj.get("operation")) or state.get("phase") in ("Running", "Terminating")


@router.post("/{name}/sync")
async def sync_application(
    name: str, body: SyncRequest, caller: Caller, ctx: Ctx
) -> dict[str, Any]:
    """Request a sync by writing ``operation``, as ``argocd app sync`` does."""
    obj, app = await load_application(ctx, caller, name, Action.SYNC)
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
    updated = await patch_application(
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
        subject_of(updated),
        f"initiated sync to {operation.sync.revision if operation.sync else ''} of",
    )
    return updated


@router.put("/{name}/rollback")
async def rollback_application(
    name: str, body: RollbackRequest, caller: Caller, ctx: Ctx
) -> dict[str, Any]:
    """Sync back to a ``status.history`` entry (refused while auto-sync is on)."""
    obj, app = await load_application(ctx, caller, name, Action.SYNC)
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
    updated = await patch_application(
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
        subject_of(updated),
        f"initiated rollback to {body.id} of",
    )
    return updated


@router.delete("/{name}/operation")
async def terminate_operation(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Ask the controller to stop the running operation (``phase: Terminating``)."""
    obj, _ = await load_application(ctx, caller, name, Action.SYNC)
    state = (obj.get("status") or {}).get("operationState") or {}
    if state.get("phase") != "Running":
        raise FailedPrecondition("unable to terminate operation. No operation is in progress")
    updated = await patch_application(
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
        subject_of(updated),
        "terminated the operation of",
    )
    return {}
