"""Fixtures of the source suite.

The Git server fixtures (``git_server_session``, ``git_server``, ``git_repo``,
``git_repo_session``) live in :mod:`gitfixtures`, so other suites can import them; see
that module for what they provide. ``git_cache`` is a :class:`tether.source.GitCache` in
the test's temporary folder whose credential store holds a ``repo-creds`` Secret for
the session server's HTTP URLs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from gitfixtures import git_repo, git_repo_session, git_server, git_server_session, ssh_server
from gitserver import GitServer, http_creds_secret

from tether.source import CredentialStore, GitCache, StaticSecrets

__all__ = ["git_repo", "git_repo_session", "git_server", "git_server_session", "ssh_server"]


@pytest.fixture
def git_cache(tmp_path: Path, git_server_session: GitServer) -> GitCache:
    store = CredentialStore(StaticSecrets((http_creds_secret(git_server_session),)))
    return GitCache(tmp_path / "cache", credentials=store, fetch_timeout=10.0)
