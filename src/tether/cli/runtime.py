"""Running long-lived asyncio services from the command line.

:func:`run_until_signalled` runs a coroutine factory on uvloop and stops it cleanly on
SIGINT or SIGTERM: the coroutine receives an event that is set on the first signal,
so it can close what it opened (child processes included) before the command exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

import uvloop


def configure_logging(verbose: bool) -> None:
    """Plain log lines on stderr; ``verbose`` shows tether's info messages."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``main(stop)`` until it returns; SIGINT/SIGTERM set ``stop``."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await main(stop)

    uvloop.run(runner())
