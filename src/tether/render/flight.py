"""Single flight: concurrent requests for one render share one execution.

When several applications (or a refresh storm after a webhook) ask for the same
render at once, only the first runs the tool; the others wait for its result, or its
error. Only the execution is shared: each caller still gets its own copy of an error
(:meth:`~tether.render.errors.RenderError.about`) and result value. If the caller that
runs the work is cancelled, the waiters do not inherit the cancellation: one of them
runs the work instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Runs at most one ``work`` per key at a time; other callers share its outcome."""

    def __init__(self) -> None:
        """Start with nothing in flight."""
        self._running: dict[str, asyncio.Future[T]] = {}

    async def run(self, key: str, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """``work()``'s result and whether it was shared (run by another caller)."""
        while (running := self._running.get(key)) is not None:
            try:
                return await asyncio.shield(running), True
            except asyncio.CancelledError:
                if running.cancelled():
                    continue  # the runner was cancelled, not us: run it ourselves
                raise
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        # Mark a failure as seen even when nobody was waiting for it.
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._running[key] = future
        try:
            result = await work()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as error:
            future.set_exception(error)
            raise
        finally:
            del self._running[key]
        future.set_result(result)
        return result, False

    def __len__(self) -> int:
        """How many keys are in flight."""
        return len(self._running)
