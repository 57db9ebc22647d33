"""One ``tether up`` per test session, a Git repository, and a logged-in config file."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from clitools import TESTDATA, TETHER, GitRepo, Tether, free_port, read_until, stop


@pytest.fixture(scope="session")
def tether(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tether]:
    """``tether up`` on a free port, shared by the session and stopped with Ctrl-C."""
    data_dir = tmp_path_factory.mktemp("up")
    port = free_port()
    process = subprocess.Popen(
        [str(TETHER), "up", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        output = read_until(process, "press Ctrl-C to stop", 90)
        password = re.search(r"admin password\s+(\S+)", output)
        assert password is not None, output
        yield Tether(f"http://127.0.0.1:{port}", password.group(1), data_dir / "kubeconfig")
    finally:
        stop(process)


@pytest.fixture(scope="session")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """A repository holding ``testdata/cli/repo`` on branch ``main``."""
    root = tmp_path_factory.mktemp("git")
    bare, work = root / "repo.git", root / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    shutil.copytree(TESTDATA / "repo", work)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run(
        ["git", "-C", str(work), "remote", "add", "origin", f"file://{bare}"], check=True
    )
    git = ["git", "-C", str(work)]
    identity = ["-c", "user.name=tests", "-c", "user.email=tests@example.invalid"]
    subprocess.run([*git, "add", "-A"], check=True, timeout=30)
    subprocess.run([*git, *identity, "commit", "-qm", "guestbook"], check=True, timeout=30)
    subprocess.run([*git, "push", "-q", "origin", "main"], check=True, timeout=30)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, timeout=30, capture_output=True, text=True
    )
    return GitRepo(f"file://{bare}", work, head.stdout.strip())


@pytest.fixture(scope="session")
def config(tether: Tether, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config file logged in as admin through ``tether login`` (no terminal: flag password)."""
    path = tmp_path_factory.mktemp("config") / "config"
    result = tether.run("login", tether.url, "--password", tether.password, config=path)
    assert result.code == 0, result.stderr
    return path
