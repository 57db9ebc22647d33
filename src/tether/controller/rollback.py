"""Rollback: sync an application back to a revision its history recorded.

:func:`request_rollback` is what ``tether app rollback APP ID`` (through the server)
calls. As in Argo CD, a rollback syncs the history entry's revision *and* its source
(path, Helm values, ... as they were then), and automated sync is switched off for the
app: otherwise the next refresh would sync it straight back to the branch's head. The
app then shows OutOfSync against its spec until someone changes Git or syncs again.

The request is one atomic JSON patch of the Application, guarded by its
resourceVersion: the ``spec.syncPolicy.automated`` removal and the ``operation`` are
written together or not at all. The controller does the rest.
"""

from __future__ import annotations

from typing import Any

from tether.kube import Conflict, Invalid, KubeClient, KubeError, NotFound
from tether.model import SpecError
from tether.model.application import Application
from tether.model.operation import Operation, OperationInitiator, SyncOperation

_API_VERSION = "argoproj.io/v1alpha1"


class RollbackError(Exception):
    """A rollback could not be requested; ``app`` is ``namespace/name``."""

    def __init__(self, app: str, cause: str) -> None:
        super().__init__(f"failed to roll back Application/{app}: {cause}")
        self.app = app
        self.cause = cause


def rollback_operation(
    app: Application, history_id: int, *, prune: bool, username: str
) -> Operation:
    """The sync operation that rolls ``app`` back to its history entry ``history_id``."""
    where = app.qualified_name
    entry = next((h for h in app.status.history if h.id == history_id), None)
    if entry is None:
        known = ", ".join(str(h.id) for h in app.status.history) or "none"
        raise RollbackError(where, f"history id {history_id} not found (known: {known})")
    state = app.status.operation_state
    if app.operation is not None or (state is not None and not state.is_completed):
        raise RollbackError(where, "another operation is already in progress")
    return Operation(
        sync=SyncOperation(
            revision=entry.revision,
            revisions=entry.revisions,
            prune=prune,
            source=entry.source,
            sources=entry.sources,
        ),
        initiated_by=OperationInitiator(username=username) if username else None,
    )


async def request_rollback(
    client: KubeClient,
    namespace: str,
    name: str,
    history_id: int,
    *,
    prune: bool = False,
    username: str = "",
) -> dict[str, Any]:
    """Request a rollback of Application ``namespace/name`` to ``history_id``.

    Returns the updated Application. Raises :class:`RollbackError` when the app or the
    history entry does not exist, when an operation is in progress, or when the app
    changed under the request (try again).
    """
    where = f"{namespace}/{name}"
    try:
        obj = await client.get(_API_VERSION, "Application", name, namespace)
    except NotFound as error:
        raise RollbackError(where, "the application does not exist") from error
    except KubeError as error:
        raise RollbackError(where, str(error)) from error
    try:
        app = Application.from_dict(obj)
    except SpecError as error:
        raise RollbackError(where, str(error)) from error
    operation = rollback_operation(app, history_id, prune=prune, username=username)
    ops: list[dict[str, Any]] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": app.metadata.resource_version}
    ]
    if ((obj.get("spec") or {}).get("syncPolicy") or {}).get("automated") is not None:
        ops.append({"op": "remove", "path": "/spec/syncPolicy/automated"})
    ops.append({"op": "add", "path": "/operation", "value": operation.to_dict()})
    try:
        return await client.patch(
            _API_VERSION, "Application", name, namespace, ops, patch_type="json"
        )
    except (Conflict, Invalid) as error:
        raise RollbackError(where, "the application changed meanwhile; try again") from error
    except KubeError as error:
        raise RollbackError(where, str(error)) from error
