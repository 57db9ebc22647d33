"""How many seeded trials a fault test runs: quick in ``scripts/test``, more on request.

``TETHER_FAULTS=full`` selects the full counts (``bench/run``-like runs by hand or in a
nightly job); anything else, the quick ones that keep CI within its budget. The seed is
fixed so a failing trial can be replayed; ``TETHER_FAULT_SEED`` overrides it.
"""

from __future__ import annotations

import os

FULL = os.environ.get("TETHER_FAULTS", "") == "full"
SEED = int(os.environ.get("TETHER_FAULT_SEED", "20261122"))


def trials(quick: int, full: int) -> int:
    """The number of trials for this run: ``full`` under ``TETHER_FAULTS=full``, else ``quick``."""
    return full if FULL else quick
