"""Fixtures: a started in-process cluster with the workload simulation.

``sim`` runs the simulation with no delays; ``timed`` with the default delays, on a
clock that only the test moves (:meth:`~harness.SimCluster.advance`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.localcluster.simulation.harness import SimCluster

from tether.localcluster.simulation import ManualClock, Settings


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[SimCluster]:
    """A started cluster whose simulation has no delays."""
    running = SimCluster(tmp_path, Settings.instant(), ManualClock())
    await running.start()
    yield running
    await running.close()


@pytest.fixture
async def timed(tmp_path: Path) -> AsyncIterator[SimCluster]:
    """A started cluster whose simulation has the default delays (clock moved by hand)."""
    running = SimCluster(tmp_path, Settings(), ManualClock())
    await running.start()
    yield running
    await running.close()
