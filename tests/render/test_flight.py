from __future__ import annotations

import asyncio

import pytest

from tether.render.flight import SingleFlight


async def test_concurrent_callers_share_one_execution() -> None:
    flight: SingleFlight[int] = SingleFlight()
    gate = asyncio.Event()
    calls = 0

    async def work() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        return 42

    tasks = [asyncio.create_task(flight.run("k", work)) for _ in range(3)]
    await asyncio.sleep(0)
    assert len(flight) == 1
    gate.set()
    results = await asyncio.gather(*tasks)
    assert calls == 1
    assert sorted(results) == [(42, False), (42, True), (42, True)]
    assert len(flight) == 0


async def test_waiters_share_the_error() -> None:
    flight: SingleFlight[int] = SingleFlight()
    gate = asyncio.Event()

    async def work() -> int:
        await gate.wait()
        raise ValueError("boom")

    tasks = [asyncio.create_task(flight.run("k", work)) for _ in range(2)]
    await asyncio.sleep(0)
    gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(o) for o in outcomes] == [ValueError, ValueError]


async def test_a_cancelled_runner_hands_the_work_to_a_waiter() -> None:
    flight: SingleFlight[str] = SingleFlight()
    started = asyncio.Event()
    runs: list[str] = []

    async def work() -> str:
        runs.append("run")
        started.set()
        await asyncio.sleep(0 if len(runs) > 1 else 10)
        return "done"

    first = asyncio.create_task(flight.run("k", work))
    await started.wait()
    second = asyncio.create_task(flight.run("k", work))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, timeout=5) == ("done", False)
    assert runs == ["run", "run"]


async def test_different_keys_run_independently() -> None:
    flight: SingleFlight[str] = SingleFlight()

    async def work(value: str) -> str:
        await asyncio.sleep(0)
        return value

    results = await asyncio.gather(
        flight.run("a", lambda: work("a")), flight.run("b", lambda: work("b"))
    )
    assert results == [("a", False), ("b", False)]
