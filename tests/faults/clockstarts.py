"""Where sync operations started, by the controller's clock, and whether windows allowed it.

The controller writes ``status.operationState.startedAt`` from its own (injected) clock
when it starts an operation. :class:`OperationStarts` watches the Applications of the
control namespace and keeps every distinct start it sees (a watch delivers every write,
so a start is seen even when the operation finishes a moment later), and
:func:`denied_starts` replays each against the project's windows with
:func:`~tether.controller.syncwindows.evaluate_windows` at exactly that clock reading.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from tether.controller.syncwindows import evaluate_windows
from tether.kube import KubeClient, KubeError
from tether.model.application import Application
from tether.model.project import AppProject
from tether.model.wire import parse_time


@dataclass(frozen=True, slots=True)
class Start:
    """One operation start: which app, at which controller-clock reading, which attempt."""

    app: str
    started_at: datetime
    retry_count: int
    automated: bool


def start_of(obj: Mapping[str, Any]) -> Start | None:
    """The start recorded in an Application's ``operationState``, if any."""
    state = (obj.get("status") or {}).get("operationState") or {}
    if not state.get("startedAt"):
        return None
    started = parse_time(state["startedAt"], "status.operationState.startedAt")
    initiator = (state.get("operation") or {}).get("initiatedBy") or {}
    return Start(
        app=str(obj["metadata"]["name"]),
        started_at=started,
        retry_count=int(state.get("retryCount") or 0),
        automated=bool(initiator.get("automated")),
    )


class OperationStarts:
    """Every operation start of the Applications in one namespace, from when it starts."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.starts: list[Start] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        listed = await self.client.list("argoproj.io/v1alpha1", "Application", self.namespace)
        for obj in listed.items:
            self._note(obj)
        self._task = asyncio.create_task(self._follow(listed.resource_version))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _note(self, obj: Mapping[str, Any]) -> None:
        start = start_of(obj)
        if start is not None and start not in self.starts:
            self.starts.append(start)

    async def _follow(self, version: str) -> None:
        while True:
            try:
                async for event in self.client.watch(
                    "argoproj.io/v1alpha1",
                    "Application",
                    self.namespace,
                    resource_version=version,
                    timeout_seconds=60,
                ):
                    metadata = event.object.get("metadata") or {}
                    version = str(metadata.get("resourceVersion") or version)
                    if event.type in ("ADDED", "MODIFIED"):
                        self._note(event.object)
            except KubeError:
                await asyncio.sleep(0.05)  # resume from the last version seen

    def of(self, app: str) -> list[Start]:
        """The starts of one app, in the order they were seen."""
        return [s for s in self.starts if s.app == app]


def denied_starts(
    starts: list[Start], project: Mapping[str, Any], app: Mapping[str, Any]
) -> list[str]:
    """The automated starts the project's windows denied at their clock reading, described."""
    windows = AppProject.from_dict(project).spec.sync_windows
    application = Application.from_dict(app)
    return [
        f"{s.app} started at {s.started_at.isoformat()} (attempt {s.retry_count}): {verdict.reason}"
        for s in starts
        if s.automated
        and not (
            verdict := evaluate_windows(windows, application, s.started_at, manual=False)
        ).allowed
    ]
