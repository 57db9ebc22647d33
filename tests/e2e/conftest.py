"""End-to-end tests reuse the loopback Git servers of the source suite."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "source"))

from gitfixtures import git_repo, git_server, git_server_session  # noqa: F401
