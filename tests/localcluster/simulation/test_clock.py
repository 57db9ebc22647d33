"""The simulation's clocks and timers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.localcluster.simulation.harness import load

from tether.localcluster.loop import WorkQueue
from tether.localcluster.server import Cluster
from tether.localcluster.simulation import Settings
from tether.localcluster.simulation.clock import (
    CallableClock,
    ManualClock,
    SystemClock,
    Timers,
    as_clock,
    format_time,
    parse_time,
)

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


async def test_timers_fire_when_the_clock_reaches_them() -> None:
    clock = ManualClock(START)
    fired: list[str] = []

    async def reconcile(key: str) -> None:
        fired.append(key)

    queue: WorkQueue[str] = WorkQueue("test", reconcile)
    queue.start()
    timers = Timers(clock)
    timers.start()
    try:
        timers.at(START + timedelta(seconds=5), queue, "later")
        timers.at(START + timedelta(seconds=2), queue, "sooner")
        timers.at(START + timedelta(seconds=9), queue, "sooner")  # an earlier one is kept
        timers.at(START, queue, "now")
        await asyncio.sleep(0.01)
        assert fired == ["now"]
        clock.advance(2)
        await asyncio.sleep(0.01)
        assert fired == ["now", "sooner"]
        assert not timers.due()
        clock.advance(3)
        await asyncio.sleep(0.01)
        assert fired == ["now", "sooner", "later"]
        clock.advance(10)
        await asyncio.sleep(0.01)
        assert fired == ["now", "sooner", "later"]
    finally:
        await timers.close()
        await queue.close()


def test_a_plain_callable_becomes_a_clock() -> None:
    clock = as_clock(lambda: START)
    assert isinstance(clock, CallableClock)
    assert clock.now() == START
    manual = ManualClock(START)
    assert as_clock(manual) is manual
    assert manual() == START
    assert SystemClock()().tzinfo is UTC


def test_timestamps_round_trip_at_second_precision() -> None:
    moment = START + timedelta(microseconds=250_000)
    assert format_time(moment) == "2026-01-01T12:00:00Z"
    assert parse_time("2026-01-01T12:00:00Z") == START
    assert parse_time("not a time") is None
    assert parse_time(None) is None


async def test_a_cluster_drives_its_simulation_with_its_own_clock(tmp_path: Path) -> None:
    clock = ManualClock()
    cluster = Cluster(tmp_path, clock=clock, simulation=Settings())
    await cluster.start()
    try:
        assert cluster.simulation is not None
        assert cluster.simulation.context.clock is clock
        pods = cluster.registry.get("", "pods")
        assert pods is not None
        await cluster.store.create(pods, "default", load("pod-basic"))

        def ready() -> str:
            entry = cluster.store.lookup(pods, "default", "basic")
            assert entry is not None
            conditions = (entry.obj.get("status") or {}).get("conditions") or []
            return next((c["status"] for c in conditions if c["type"] == "Ready"), "")

        _, watch = cluster.store.watch(pods)
        async with watch, asyncio.timeout(10):
            while ready() != "False":
                await watch.next(0.1)
            clock.advance(1)
            while ready() != "True":
                await watch.next(0.1)
    finally:
        await cluster.close()
