"""Client-side limits: requests per second (with a burst) and requests in flight.

A GitOps controller that syncs a thousand applications at once must not flood the API
server it manages. :class:`Throttle` combines a token bucket (``qps`` sustained,
``burst`` at once, like client-go's) with a cap on concurrent requests. Long-running
watches take neither a token nor a slot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager


class Throttle:
    """A token bucket plus a concurrency cap; ``qps <= 0`` disables the rate limit."""

    def __init__(
        self,
        qps: float = 200.0,
        burst: int = 400,
        max_in_flight: int = 64,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = asyncio.Lock()
        self.max_in_flight = max(1, max_in_flight)
        self._slots = asyncio.Semaphore(self.max_in_flight)

    async def _take_token(self) -> None:
        if self.qps <= 0:
            return
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.qps)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self.qps)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a token and a free slot; hold the slot for the request's duration."""
        await self._take_token()
        async with self._slots:
            yield
