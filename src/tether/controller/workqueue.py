"""A keyed work queue: deduplicated, one worker per key at a time, delayed and backed off.

Like client-go's rate-limited work queue: a key added many times while waiting is
processed once; a key added while it is being processed is processed again afterwards
(never concurrently); :meth:`WorkQueue.add_after` schedules a key for later (periodic
resync, self-heal back-off); a failed key comes back after an exponential back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

log = logging.getLogger(__name__)


class WorkQueue(Generic[K]):
    """Keys waiting for ``handler``, processed by ``workers`` tasks."""

    def __init__(
        self,
        name: str,
        handler: Callable[[K], Awaitable[None]],
        *,
        workers: int = 10,
        failure_backoff: tuple[float, float] = (0.5, 60.0),
    ) -> None:
        self.name = name
        self._handler = handler
        self._workers = workers
        self._base, self._cap = failure_backoff
        self._ready: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._active: set[K] = set()
        self._again: set[K] = set()
        self._failures: dict[K, int] = {}
        self._delayed: list[tuple[float, int, K]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return len(self._queued) + len(self._active)

    def add(self, key: K) -> None:
        """Process ``key`` as soon as a worker is free (once, however often it is added)."""
        if key in self._active:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._idle.clear()
            self._ready.put_nowait(key)

    def add_after(self, key: K, delay: float) -> None:
        """Process ``key`` after ``delay`` seconds."""
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        heapq.heappush(self._delayed, (loop.time() + delay, next(self._order), key))
        self._wake.set()

    def start(self) -> None:
        """Start the workers and the timer."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._work(), name=f"{self.name} worker {n}")
            for n in range(self._workers)
        ]
        self._tasks.append(asyncio.create_task(self._timer(), name=f"{self.name} timer"))

    async def close(self) -> None:
        """Stop the workers (a key being processed is cancelled)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def wait_idle(self) -> None:
        """Wait until nothing is queued or processing (delayed keys do not count)."""
        await self._idle.wait()

    async def _timer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            now = loop.time()
            while self._delayed and self._delayed[0][0] <= now:
                self.add(heapq.heappop(self._delayed)[2])
            timeout = self._delayed[0][0] - now if self._delayed else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _work(self) -> None:
        while True:
            key = await self._ready.get()
            self._queued.discard(key)
            self._active.add(key)
            try:
                await self._handler(key)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures = self._failures.get(key, 0)
                self._failures[key] = failures + 1
                delay = min(self._cap, self._base * 2**failures)
                log.exception("%s: processing %s failed; retrying in %.1fs", self.name, key, delay)
                self.add_after(key, delay)
            else:
                self._failures.pop(key, None)
            finally:
                self._active.discard(key)
                if key in self._again:
                    self._again.discard(key)
                    self.add(key)
                if not self._queued and not self._active:
                    self._idle.set()
