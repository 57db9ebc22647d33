"""A keyed work queue: deduplicated, one worker per key at a time, delayed and backed off.

Like client-go's rate-limited work queue: a key added many times while waiting is
processed once; a key added while it is being processed is processed again afterwards
(never concurrently); :meth:`WorkQueue.add_after` schedules a key for later (periodic
resync, self-heal back-off); a failed key comes back after an exponential back-off.

Each key also has its own token bucket (:class:`RateLimit`): a key may be processed
``burst`` times in quick succession, then at most ``rate`` times a second. A key added
faster than that waits for its next token instead of being dropped, so a noisy app
(objects that change constantly, a flapping webhook) cannot starve the others.

:attr:`WorkQueue.depth` and :attr:`WorkQueue.adds` are plain numbers the controller's
metrics read when scraped (``tether_workqueue_depth``, ``tether_workqueue_adds_total``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A per-key token bucket: ``burst`` tokens, refilled at ``rate`` tokens a second."""

    rate: float = 2.0
    burst: int = 10

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class WorkQueue(Generic[K]):
    """Keys waiting for ``handler``, processed by ``workers`` tasks."""

    def __init__(
        self,
        name: str,
        handler: Callable[[K], Awaitable[None]],
        *,
        workers: int = 10,
        failure_backoff: tuple[float, float] = (0.5, 60.0),
        rate_limit: RateLimit | None = None,
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
        self._limit = rate_limit
        self._buckets: dict[K, _Bucket] = {}
        self._throttled: set[K] = set()
        #: Keys queued so far (an add that finds its key already waiting is not one).
        self.adds = 0

    @property
    def depth(self) -> int:
        """Keys waiting for a worker (not those being processed, nor delayed ones)."""
        return len(self._queued)

    def __len__(self) -> int:
        return len(self._queued) + len(self._active)

    def add(self, key: K) -> None:
        """Process ``key`` as soon as a worker is free and its rate limit allows.

        Once, however often it is added meanwhile.
        """
        if key in self._active:
            self._again.add(key)
        elif key not in self._queued and key not in self._throttled:
            wait = self._take_token(key)
            if wait > 0:
                self._throttled.add(key)
                self._schedule(key, wait)
                return
            self._queued.add(key)
            self.adds += 1
            self._idle.clear()
            self._ready.put_nowait(key)

    def forget(self, key: K) -> None:
        """Drop what the queue remembers about ``key`` (its bucket, its failures)."""
        self._buckets.pop(key, None)
        self._failures.pop(key, None)

    def _take_token(self, key: K) -> float:
        """Take one of ``key``'s tokens; returns 0, or how long until one is there."""
        if self._limit is None:
            return 0.0
        now = asyncio.get_running_loop().time()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self._limit.burst), now)
        bucket.tokens = min(
            float(self._limit.burst), bucket.tokens + (now - bucket.updated) * self._limit.rate
        )
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self._limit.rate

    def add_after(self, key: K, delay: float) -> None:
        """Process ``key`` after ``delay`` seconds."""
        if delay <= 0:
            self.add(key)
            return
        self._schedule(key, delay)

    def _schedule(self, key: K, delay: float) -> None:
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
                key = heapq.heappop(self._delayed)[2]
                self._throttled.discard(key)
                self.add(key)
            timeout = self._delayed[0][0] - now if self._delayed else None
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for can swallow a
            # cancellation that arrives as the event is set, and close() would hang.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

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
