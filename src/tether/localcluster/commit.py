"""Group commit: many concurrent writes, one durable transaction, one fsync.

The store hands each write to :meth:`GroupCommit.add` with its storage row and its
event, and awaits the returned future. One writer task drains everything queued into
a single SQLite transaction on the storage thread; while it is being fsynced, new
writes queue up for the next batch, so the batch size grows with the load. When a
batch is durable its events are published in resourceVersion order and its futures
resolved: no write is acknowledged, and no watcher hears of it, before it would
survive ``kill -9``.

A failed transaction leaves the in-memory cache ahead of the disk, which nothing can
repair in place: the process stops, and a restart reloads exactly what was
acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from tether.localcluster.errors import APIError
from tether.localcluster.storage import Row, Storage
from tether.localcluster.watch import Event

log = logging.getLogger(__name__)

#: Exit status after a failed commit (EX_SOFTWARE).
COMMIT_FAILED_EXIT = 70


@dataclass
class _Batch:
    rows: list[Row] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class GroupCommit:
    """Batches writes into durable transactions and publishes their events."""

    def __init__(
        self, storage: Storage, executor: Executor, publish: Callable[[Event], None]
    ) -> None:
        """Write to ``storage`` on ``executor``; ``publish`` each committed event."""
        self._storage = storage
        self._executor = executor
        self._publish = publish
        self._pending = _Batch()
        self._writer: asyncio.Task[None] | None = None

    def add(self, row: Row, event: Event) -> asyncio.Future[None]:
        """Queue a write; the future resolves once it is durable and published."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.rows.append(row)
        self._pending.events.append(event)
        self._pending.waiters.append(future)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_batches())
        return future

    async def drain(self) -> None:
        """Wait until everything queued is committed."""
        if self._writer is not None:
            await self._writer

    async def _write_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending.rows:
            batch, self._pending = self._pending, _Batch()
            try:
                await loop.run_in_executor(self._executor, self._storage.write, batch.rows)
            except Exception as error:
                log.critical("failed to persist writes, stopping: %s", error)
                for waiter in batch.waiters:
                    if not waiter.done():
                        waiter.set_exception(APIError(500, "InternalError", str(error)))
                os._exit(COMMIT_FAILED_EXIT)
            for event in batch.events:
                self._publish(event)
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_result(None)
