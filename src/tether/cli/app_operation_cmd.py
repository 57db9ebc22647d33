"""``tether app sync|rollback|wait|terminate-op``: operations, followed to their end.

``sync`` and ``rollback`` write the operation and, unless ``--async``, follow it with
:func:`tether.cli.waiting.wait_for` until it finishes: exit 0 when it ``Succeeded``,
2 when it ``Failed`` or ended in ``Error`` (with its message) or did not finish within
``--timeout``. ``wait`` waits for sync, health and idleness (or the ones chosen).
Registered on the ``app`` group of :mod:`tether.cli.app_cmd`.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from tether.cli.app_api_cmd import SyncOptions
from tether.cli.app_cmd import app
from tether.cli.app_views import dig
from tether.cli.output import (
    CommandError,
    ServerFlag,
    TokenFlag,
    is_terminal,
    open_client,
    reporting_errors,
)
from tether.cli.waiting import COMPLETED_PHASES, Target, wait_for

API = "/api/v1/applications"
Timeout = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait before giving up.", min=0)
]


def _live_progress() -> bool:
    return is_terminal() and sys.stdout.isatty()


def parse_resource(value: str) -> dict[str, str]:
    """``GROUP:KIND:NAME`` or ``GROUP:KIND:NAMESPACE/NAME`` as a sync request resource."""
    parts = value.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise CommandError(
            f"failed to parse --resource {value}: expected GROUP:KIND:NAME "
            "or GROUP:KIND:NAMESPACE/NAME"
        )
    group, kind, name = parts
    namespace, _, name = name.rpartition("/")
    return {"group": group, "kind": kind, "namespace": namespace, "name": name}


def _finish_operation(client: Any, name: str, previous: Any, timeout: float) -> None:
    """Wait for the operation just asked for and fail (exit 2) unless it succeeded."""
    target = Target(operation=True, previous_operation=previous)
    final = wait_for(client, name, target, timeout, live=_live_progress())
    phase = str(dig(final, "status.operationState.phase"))
    message = " ".join(str(dig(final, "status.operationState.message")).split())
    if phase != "Succeeded":
        raise CommandError(f"failed to sync application {name}: operation {phase}: {message}")
    typer.echo(f"operation Succeeded: {message}")


@app.command("sync")
def sync_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    prune: Annotated[bool, typer.Option("--prune", help="Delete objects gone from Git.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only check what would change.")
    ] = False,
    revision: Annotated[str, typer.Option("--revision", help="Sync to this revision.")] = "",
    resource: Annotated[
        list[str] | None,
        typer.Option("--resource", help="Only GROUP:KIND:[NAMESPACE/]NAME (repeat)."),
    ] = None,
    sync_option: SyncOptions = None,
    asynchronous: Annotated[
        bool, typer.Option("--async", help="Do not wait for the operation to finish.")
    ] = False,
    timeout: Timeout = 300,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Sync an application to its target state, showing progress until it finishes."""
    with reporting_errors(), open_client(server, auth_token) as client:
        body = {
            "revision": revision,
            "prune": prune,
            "dryRun": dry_run,
            "resources": [parse_resource(r) for r in resource or []],
        }
        if sync_option:
            body["syncOptions"] = {"items": sync_option}
        current = client.get(f"{API}/{name}", f"get application {name}")
        previous = dig(current, "status.operationState", None)
        client.post(f"{API}/{name}/sync", f"sync application {name}", body)
        typer.echo(f"sync of application '{name}' requested")
        if not asynchronous:
            _finish_operation(client, name, previous, timeout)


@app.command("wait")
def wait_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    sync: Annotated[bool, typer.Option("--sync", help="Until Synced.")] = False,
    health: Annotated[bool, typer.Option("--health", help="Until Healthy.")] = False,
    operation: Annotated[
        bool, typer.Option("--operation", help="Until no operation is in progress.")
    ] = False,
    timeout: Timeout = 300,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Wait until the application is synced, healthy and idle (or just what is chosen)."""
    with reporting_errors(), open_client(server, auth_token) as client:
        wait_for(client, name, Target(sync, health, operation), timeout, live=_live_progress())
    typer.echo(f"application '{name}' reached the wanted state")


@app.command("rollback")
def rollback_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    history_id: Annotated[int, typer.Argument(help="History ID (see app history).")],
    prune: Annotated[bool, typer.Option("--prune", help="Delete objects gone from Git.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only check.")] = False,
    asynchronous: Annotated[bool, typer.Option("--async", help="Do not wait.")] = False,
    timeout: Timeout = 300,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Sync the application back to the revision of history entry HISTORY_ID."""
    with reporting_errors(), open_client(server, auth_token) as client:
        current = client.get(f"{API}/{name}", f"get application {name}")
        previous = dig(current, "status.operationState", None)
        body = {"id": history_id, "prune": prune, "dryRun": dry_run}
        client.put(f"{API}/{name}/rollback", f"roll back application {name}", body)
        typer.echo(f"rollback of application '{name}' to history {history_id} requested")
        if not asynchronous:
            _finish_operation(client, name, previous, timeout)


@app.command("terminate-op")
def terminate_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Stop the application's running operation."""
    with reporting_errors(), open_client(server, auth_token) as client:
        obj = client.get(f"{API}/{name}", f"get application {name}")
        phase = str(dig(obj, "status.operationState.phase"))
        if "operation" not in obj and (not phase or phase in COMPLETED_PHASES):
            raise CommandError(
                f"failed to terminate the operation of application {name}: none is running"
            )
        client.delete(f"{API}/{name}/operation", f"terminate the operation of application {name}")
    typer.echo(f"application '{name}': operation terminating")
