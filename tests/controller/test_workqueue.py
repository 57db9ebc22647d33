"""The keyed work queue: deduplication, one worker per key, per-key rate limits, back-off."""

from __future__ import annotations

import asyncio

import pytest

from tether.controller.workqueue import RateLimit, WorkQueue


class Recorder:
    """A handler that records when each key ran and how many ran at once."""

    def __init__(self, hold: float = 0.0, fail: int = 0) -> None:
        self.runs: list[tuple[str, float]] = []
        self.concurrent: dict[str, int] = {}
        self.max_concurrent = 0
        self.hold = hold
        self.fail = fail

    async def __call__(self, key: str) -> None:
        self.runs.append((key, asyncio.get_running_loop().time()))
        self.concurrent[key] = self.concurrent.get(key, 0) + 1
        self.max_concurrent = max(self.max_concurrent, self.concurrent[key])
        try:
            await asyncio.sleep(self.hold)
            if self.fail:
                self.fail -= 1
                raise RuntimeError("handler failed")
        finally:
            self.concurrent[key] -= 1

    def times(self, key: str) -> list[float]:
        return [t for k, t in self.runs if k == key]


async def drain(queue: WorkQueue[str], seconds: float) -> None:
    async with asyncio.timeout(5):
        await asyncio.sleep(seconds)
        await queue.wait_idle()


async def test_a_key_added_many_times_while_waiting_runs_once() -> None:
    recorder = Recorder()
    queue = WorkQueue("t", recorder, workers=1)
    for _ in range(5):
        queue.add("a")
    queue.add("b")
    queue.start()
    await drain(queue, 0.05)
    await queue.close()
    assert [k for k, _ in recorder.runs] == ["a", "b"]


async def test_a_key_added_while_running_runs_again_afterwards_never_concurrently() -> None:
    recorder = Recorder(hold=0.05)
    queue = WorkQueue("t", recorder, workers=4)
    queue.start()
    queue.add("a")
    await asyncio.sleep(0.01)
    queue.add("a")
    queue.add("a")
    await drain(queue, 0.15)
    await queue.close()
    assert len(recorder.times("a")) == 2
    assert recorder.max_concurrent == 1


async def test_the_rate_limit_allows_a_burst_then_spaces_a_key_out() -> None:
    recorder = Recorder()
    queue = WorkQueue("t", recorder, workers=2, rate_limit=RateLimit(rate=20.0, burst=2))
    queue.start()
    for _ in range(4):
        queue.add("noisy")
        queue.add("quiet")
        await asyncio.sleep(0.001)
        await queue.wait_idle()
    await drain(queue, 0.2)
    await queue.close()
    noisy = recorder.times("noisy")
    # Two at once from the burst; the third waits for a token (1/20 s) and absorbs the
    # fourth, which was added while it waited.
    assert len(noisy) == 3
    assert noisy[1] - noisy[0] < 0.04
    assert noisy[2] - noisy[1] >= 0.045
    # Another key has its own bucket.
    assert len(recorder.times("quiet")) == 3


async def test_a_failing_key_comes_back_after_a_back_off() -> None:
    recorder = Recorder(fail=2)
    queue = WorkQueue("t", recorder, workers=1, failure_backoff=(0.02, 1.0))
    queue.start()
    queue.add("a")
    await drain(queue, 0.2)
    await queue.close()
    first, second, third = recorder.times("a")
    assert second - first >= 0.02
    assert third - second >= 0.04  # doubled


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (1.0, 0), (-1.0, 5)])
def test_a_rate_limit_needs_a_rate_and_a_burst(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        RateLimit(rate=rate, burst=burst)
