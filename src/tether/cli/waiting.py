"""Waiting for an Application to reach a state, with progress as it goes.

``app wait`` and ``app sync`` poll the application (one ``GET`` a second, bounded by the
timeout). On a terminal the whole ``app get`` view is redrawn in place; otherwise a
plain line is printed for every change: the operation's phase and message, and each
object's sync status, health, sync phase and wave, so logs of CI jobs tell the story.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.live import Live

from tether.cli.app_views import application_view, dig
from tether.cli.client import ApiClient, ApiError

#: Phases after which an operation does no more.
COMPLETED_PHASES = frozenset({"Succeeded", "Failed", "Error"})


@dataclass(frozen=True)
class Target:
    """What to wait for; an empty target waits for sync, health and the operation."""

    sync: bool = False
    health: bool = False
    operation: bool = False
    #: The ``status.operationState`` seen before a sync was asked for: the wait is for
    #: a different, finished one.
    previous_operation: Mapping[str, Any] | None = None

    def effective(self) -> Target:
        """This target, or all three conditions when none was chosen."""
        if self.sync or self.health or self.operation:
            return self
        return Target(True, True, True, self.previous_operation)


def operation_done(app: Mapping[str, Any], previous: Mapping[str, Any] | None) -> bool:
    """Whether no operation is asked for or running (and a new one, if one was awaited)."""
    state = dig(app, "status.operationState", None)
    if "operation" in app:
        return False
    if state is None:
        return previous is None
    return str(state.get("phase", "")) in COMPLETED_PHASES and state != previous


def unmet(app: Mapping[str, Any], target: Target) -> list[str]:
    """The conditions of ``target`` that ``app`` does not meet yet (empty: done)."""
    target = target.effective()
    missing = []
    if target.sync and dig(app, "status.sync.status") != "Synced":
        missing.append("sync")
    if target.health and dig(app, "status.health.status") != "Healthy":
        missing.append("health")
    if target.operation and not operation_done(app, target.previous_operation):
        missing.append("operation")
    return missing


def progress_lines(app: Mapping[str, Any]) -> list[str]:
    """The facts that progress lines report, one per line, in a stable order."""
    name = str(dig(app, "metadata.name"))
    lines = [
        f"{name}: sync {dig(app, 'status.sync.status') or 'Unknown'}, "
        f"health {dig(app, 'status.health.status') or 'Unknown'}"
    ]
    state = dig(app, "status.operationState", None)
    if isinstance(state, Mapping):
        message = " ".join(str(state.get("message", "")).split())
        lines.append(f"{name}: operation {state.get('phase', '')}: {message}".rstrip(": "))
    waves = {
        (r.get("kind"), r.get("namespace"), r.get("name")): r.get("syncWave")
        for r in dig(app, "status.resources", [])
    }
    for result in dig(state, "syncResult.resources", []):
        key = (result.get("kind"), result.get("namespace"), result.get("name"))
        wave = waves.get(key)
        where = f"{result.get('syncPhase', 'Sync')}" + (f" wave {wave}" if wave else "")
        lines.append(
            f"{name}: {key[0]} {key[1] + '/' if key[1] else ''}{key[2]} [{where}] "
            f"{result.get('status', '')} {' '.join(str(result.get('message', '')).split())}"
        )
    for resource in dig(app, "status.resources", []):
        namespace = resource.get("namespace")
        lines.append(
            f"{name}: {resource.get('kind')} {namespace + '/' if namespace else ''}"
            f"{resource.get('name')} {resource.get('status', '')} "
            f"{dig(resource, 'health.status') or ''}".rstrip()
        )
    return lines


class TimedOut(ApiError):
    """The application did not reach the target in time."""


def _transient(error: ApiError) -> bool:
    """Whether polling again may succeed: no answer at all, or the server is unavailable."""
    return error.status == 0 or error.status >= 500


def wait_for(
    client: ApiClient,
    name: str,
    target: Target,
    timeout: float,
    *,
    live: bool,
    interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll application ``name`` until ``target`` is met; the application at that point.

    ``live`` redraws the ``app get`` view in place (terminals); otherwise each new fact
    is printed once as a plain line. A server that is briefly unreachable or unavailable
    (a restart, a 5xx) is polled again until the deadline; any other error ends the wait.
    Raises :class:`TimedOut` naming what is missing.
    """
    deadline = clock() + timeout
    seen: set[str] = set()
    what = f"wait for application {name}"
    display = Live(console=Console(), auto_refresh=False) if live else None
    try:
        if display is not None:
            display.start()
        while True:
            try:
                app = client.get(f"/api/v1/applications/{name}", what)
            except ApiError as error:
                if not _transient(error) or clock() >= deadline:
                    raise
                sleep(min(interval, max(0.0, deadline - clock())))
                continue
            if display is not None:
                display.update(application_view(app), refresh=True)
            else:
                for line in progress_lines(app):
                    if line not in seen:
                        seen.add(line)
                        typer.echo(line)
            missing = unmet(app, target)
            if not missing:
                return dict(app)
            if clock() >= deadline:
                missed = ", ".join(missing)
                raise TimedOut(what, f"timed out after {timeout:g}s waiting for {missed}")
            sleep(min(interval, max(0.0, deadline - clock())))
    finally:
        if display is not None:
            display.stop()
