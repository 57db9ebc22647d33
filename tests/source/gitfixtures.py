"""Git server fixtures, reusable by any suite that needs a real remote repository.

Another suite uses them by importing them into its own ``conftest.py``::

    sys.path.insert(0, str(Path(__file__).parents[1] / "source"))
    from gitfixtures import git_repo, git_server, git_server_session  # noqa: F401

Servers (see :mod:`gitserver` next to this file for the full API):

``git_server_session``
    One :class:`GitServer` (``git daemon`` + authenticated ``git http-backend``) for the
    whole session. Cheap to share; create a repository per test on it.
``git_server``
    A :class:`GitServer` of the test's own, for tests that stop it
    (``git_server.stop()`` makes every URL on it unreachable).

Repositories (:class:`RemoteRepo`: ``.push(files, message)``, ``.tag(...)``,
``.delete_branch(...)``, ``.force_push(...)``, ``.unreferenced_commit(...)``,
``.url_git``, ``.url_http``, ``.url_file``, ``.username``, ``.password``):

``git_repo``
    A fresh repository with one commit on ``main``, on the session server.
``git_repo_session``
    One repository shared by the session; tests must not change its history.
``ssh_server``
    An :class:`SSHServer` (``sshd`` on loopback, one accepted key) for the session;
    ``ssh_server.url(repo)`` is a repository's ``ssh://`` URL. Skips when no ``sshd``
    is installed.

``gitserver.repo_secret(url, username, password)`` builds an Argo CD ``repository``
Secret as a dict, for a credential store.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from gitserver import GitServer, RemoteRepo, SSHServer


@pytest.fixture(scope="session")
def git_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    server = GitServer(tmp_path_factory.mktemp("git-server")).start()
    yield server
    server.stop()


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    server = GitServer(tmp_path / "git-server").start()
    yield server
    server.stop()


@pytest.fixture
def git_repo(git_server_session: GitServer) -> RemoteRepo:
    return git_server_session.create_repo()


@pytest.fixture(scope="session")
def git_repo_session(git_server_session: GitServer) -> RemoteRepo:
    return git_server_session.create_repo("shared")


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    if not SSHServer.available():
        pytest.skip("sshd is not installed")
    server = SSHServer(tmp_path_factory.mktemp("ssh-server") / "sshd").start()
    yield server
    server.stop()
