"""Controller tests: a local cluster, a loopback Git server, and a controller in-process."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "source"))
sys.path.insert(0, str(Path(__file__).parent))

from controllerharness import NAMESPACE, Harness, MovableClock, harness, management
from gitfixtures import git_repo, git_server, git_server_session

__all__ = [
    "NAMESPACE",
    "Harness",
    "MovableClock",
    "git_repo",
    "git_server",
    "git_server_session",
    "harness",
    "management",
]
