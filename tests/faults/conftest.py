"""Fault suite fixtures: the controller harness, loopback Git servers, the trial budget.

Each fault test states what must hold after the fault (the app converges once the
fault is gone, nothing is deleted that should stay, no completed hook runs twice, the
status tells the truth meanwhile). Seeded trials repeat a fault at random moments:
:func:`faultbudget.trials` gives the quick count that ``scripts/test`` runs and the
full count of ``TETHER_FAULTS=full``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "source"))
sys.path.insert(0, str(Path(__file__).parents[1] / "controller"))
sys.path.insert(0, str(Path(__file__).parent))

from controllerharness import harness, management
from gitfixtures import git_repo, git_server, git_server_session

__all__ = ["git_repo", "git_server", "git_server_session", "harness", "management"]
