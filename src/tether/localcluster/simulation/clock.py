"""Time for the simulation: an injectable clock, timestamps, and timers.

Every delay the simulation honours (a Pod becoming Ready, a crash loop's back-off, a
Deployment's progress deadline, a CronJob's schedule) is measured from a timestamp
stored in an object, read against a :class:`Clock`. :class:`SystemClock` is the wall
clock; :class:`ManualClock` only moves when told to, so tests cover minutes of
simulated time without sleeping. :class:`Timers` wakes a controller's work queue when
a stored deadline is reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from tether.localcluster.loop import WorkQueue


@runtime_checkable
class Clock(Protocol):
    """What the simulation knows of time."""

    def now(self) -> datetime:
        """The current time (UTC, timezone-aware)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    def __call__(self) -> datetime:
        """The current UTC time (the store's clock is a plain callable)."""
        return self.now()

    async def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        await asyncio.sleep(max(seconds, 0.0))


class ManualClock:
    """A clock that moves only when :meth:`advance` is called (tests, benchmarks)."""

    def __init__(self, start: datetime | None = None) -> None:
        """Start at ``start`` (the current second by default)."""
        self._now = start or datetime.now(UTC).replace(microsecond=0)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        """The clock's time."""
        return self._now

    def __call__(self) -> datetime:
        """The clock's time: the same object can be the store's clock."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Return once the clock has been advanced past ``now + seconds``."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + timedelta(seconds=seconds), future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose time has come."""
        self._now += timedelta(seconds=seconds)
        waiting = []
        for when, future in self._sleepers:
            if future.done():
                continue
            if when <= self._now:
                future.set_result(None)
            else:
                waiting.append((when, future))
        self._sleepers = waiting


class CallableClock:
    """A :class:`Clock` over a plain ``() -> datetime`` (the store's kind of clock).

    Waiting is real: such a clock cannot say when it will move.
    """

    def __init__(self, read: Callable[[], datetime]) -> None:
        """Read the time from ``read``."""
        self._read = read

    def now(self) -> datetime:
        """The time ``read`` gives."""
        return self._read()

    async def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        await asyncio.sleep(max(seconds, 0.0))


def as_clock(clock: Clock | Callable[[], datetime]) -> Clock:
    """``clock`` as a :class:`Clock` (a plain callable is wrapped)."""
    if isinstance(clock, Clock):
        return clock
    return CallableClock(clock)


def format_time(moment: datetime) -> str:
    """A timestamp as Kubernetes writes it (RFC 3339, whole seconds, ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> datetime | None:
    """A stored RFC 3339 timestamp, or ``None`` if absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


class Timers:
    """Deadlines at which keys go back into work queues.

    A controller that learns from an object when it next changes (a Pod's readiness
    delay, a back-off's end) calls :meth:`at`; only the earliest deadline per key is
    kept, and the reconcile that follows computes the next one. Nothing is lost on a
    restart: every deadline is derived again from stored timestamps.
    """

    def __init__(self, clock: Clock) -> None:
        """Fire deadlines measured on ``clock``."""
        self._clock = clock
        self._heap: list[tuple[datetime, int, WorkQueue[Any], Hashable]] = []
        self._earliest: dict[tuple[str, Hashable], datetime] = {}
        self._counter = itertools.count()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def at(self, when: datetime, queue: WorkQueue[Any], key: Hashable) -> None:
        """Reconcile ``key`` in ``queue`` at ``when`` (at once if it has passed)."""
        if when <= self._clock.now():
            queue.add(key)
            return
        slot = (queue.name, key)
        known = self._earliest.get(slot)
        if known is not None and known <= when:
            return
        self._earliest[slot] = when
        heapq.heappush(self._heap, (when, next(self._counter), queue, key))
        self._changed.set()

    def start(self) -> None:
        """Begin firing deadlines in the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="simulation-timers")

    async def close(self) -> None:
        """Stop firing deadlines."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def due(self) -> bool:
        """Whether a deadline has passed but not fired yet."""
        return bool(self._heap) and self._heap[0][0] <= self._clock.now()

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            now = self._clock.now()
            while self._heap and self._heap[0][0] <= now:
                when, _, queue, key = heapq.heappop(self._heap)
                if self._earliest.get((queue.name, key)) == when:
                    del self._earliest[(queue.name, key)]
                queue.add(key)
            if not self._heap:
                await self._changed.wait()
                continue
            delay = (self._heap[0][0] - now).total_seconds()
            sleeping = asyncio.ensure_future(self._clock.sleep(delay))
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait((sleeping, changed), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeping.cancel()
                changed.cancel()
