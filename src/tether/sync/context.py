"""What a sync operation needs from the outside world, injected in one value."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tether.health import assess_health
from tether.kube import KubeClient
from tether.model import Health, ResourceKey
from tether.model.operation import OperationState
from tether.model.project import AppProject
from tether.model.syncpolicy import ManagedNamespaceMetadata

#: Persist the operation state; called after every step and on every change of message.
SaveState = Callable[[OperationState], Awaitable[None]]
#: Judge one live object (default: :func:`tether.health.assess_health`).
AssessHealth = Callable[[Mapping[str, Any]], Health | None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Destination:
    """Where the application deploys: the cluster (server URL and name) and default namespace."""

    server: str
    name: str = ""
    namespace: str = ""


@dataclass(slots=True)
class SyncContext:
    """Everything a sync operation reads or calls, so tests can pass real or fake parts.

    ``terminate`` set means the user asked to stop: the operation ends as Failed with
    "Operation terminated" at the next step boundary or poll.
    """

    client: KubeClient
    app_name: str
    project: AppProject
    destination: Destination
    save: SaveState
    assess: AssessHealth = assess_health
    create_namespace: bool = False
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None
    poll_interval: float = 0.5
    wave_delay: float = 0.0
    concurrency: int = 16
    health_timeout: float | None = None
    clock: Callable[[], datetime] = _utcnow
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    terminate: asyncio.Event = field(default_factory=asyncio.Event)
    #: Crash injection for tests: called with the number of steps completed so far.
    after_step: Callable[[int], None] | None = None

    async def observe(self, key: ResourceKey, api_version: str) -> dict[str, Any] | None:
        """The current live object at ``key``, or ``None`` when it does not exist."""
        from tether.kube import NotFound  # local: keeps the import surface of this module small

        try:
            return await self.client.get(api_version, key.kind, key.name, key.namespace or None)
        except NotFound:
            return None


def sync_id_of(state: OperationState) -> str:
    """A short id that is stable for one operation across controller restarts.

    It names hooks that use ``generateName`` and marks the hooks this operation created,
    so a resumed operation recognises them instead of running them again.
    """
    seed = f"{state.started_at.isoformat()}|{state.operation.to_dict()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:5]
