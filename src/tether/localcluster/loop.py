"""A small reconcile loop for in-process controllers.

A controller watches the store, marks keys dirty from events, and reconciles each
dirty key once per wake-up (a burst of events on one key costs one reconcile). Errors
are logged and the key is retried after a delay that doubles with each consecutive
failure (0.5 s up to 30 s), so one bad object never stops the controller nor keeps it
busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0


class WorkQueue(Generic[K]):
    """Dirty keys, each reconciled once per wake-up, retried after failures."""

    def __init__(self, name: str, reconcile: Callable[[K], Awaitable[None]]) -> None:
        """Run ``reconcile(key)`` for every key :meth:`add` marks."""
        self.name = name
        self._reconcile = reconcile
        self._dirty: dict[K, None] = {}
        self._failures: dict[K, int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, key: K) -> None:
        """Mark ``key`` for reconciliation."""
        self._dirty[key] = None
        self._wake.set()

    def start(self) -> None:
        """Start processing in the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            keys, self._dirty = list(self._dirty), {}
            for key in keys:
                try:
                    await self._reconcile(key)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    failures = self._failures[key] = self._failures.get(key, 0) + 1
                    delay = min(RETRY_SECONDS * 2 ** (failures - 1), MAX_RETRY_SECONDS)
                    log.exception(
                        "%s: failed to reconcile %s, retrying in %.1fs", self.name, key, delay
                    )
                    asyncio.get_running_loop().call_later(delay, self.add, key)
                else:
                    self._failures.pop(key, None)

    async def close(self) -> None:
        """Stop processing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def idle(self) -> bool:
        """Whether nothing is waiting to be reconciled."""
        return not self._dirty
