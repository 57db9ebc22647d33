"""On a terminal: ``login`` prompts for the password, ``app wait`` redraws the app view."""

from __future__ import annotations

import os
import select
import subprocess
import termios
import time
from pathlib import Path

from clitools import TETHER, GitRepo, Tether

from tether.cli.client import ApiClient, connect
from tether.cli.contexts import load_config


class Terminal:
    """``tether ARGS`` on a pseudo-terminal (stdin, stdout and stderr are all the tty)."""

    def __init__(self, config: Path, *args: str) -> None:
        self.main, replica = os.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
        env.update({"TETHER_CONFIG": str(config), "TERM": "xterm", "COLUMNS": "200"})
        self.process = subprocess.Popen(
            [str(TETHER), *args], stdin=replica, stdout=replica, stderr=replica, env=env
        )
        os.close(replica)
        self.seen = ""

    def read_until(self, marker: str, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while marker not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.main], [], [], 0.1)
            if ready:
                try:
                    self.seen += os.read(self.main, 65536).decode(errors="replace")
                except OSError:  # the command ended and closed the terminal
                    break
        assert marker in self.seen, self.seen
        return self.seen

    def type_secret(self, text: str, seconds: float = 30) -> None:
        """Type ``text`` once the command has turned echo off (getpass flushes input)."""
        deadline = time.monotonic() + seconds
        while termios.tcgetattr(self.main)[3] & termios.ECHO:
            assert time.monotonic() < deadline, "echo was never turned off"
            time.sleep(0.02)
        os.write(self.main, text.encode())

    def close(self) -> int:
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
            os.close(self.main)


def test_login_prompts_without_echo(tether: Tether, tmp_path: Path) -> None:
    terminal = Terminal(tmp_path / "config", "login", tether.url)
    try:
        terminal.read_until("Password:")
        terminal.type_secret(tether.password + "\n")
        output = terminal.read_until("logged in")
    finally:
        code = terminal.close()
    assert code == 0
    assert tether.password not in output


def test_wait_redraws_the_application_view(tether: Tether, repo: GitRepo, config: Path) -> None:
    with ApiClient(connect(config=load_config(config))) as client:
        client.post(
            "/api/v1/applications",
            "create application on-a-terminal",
            {
                "metadata": {"name": "on-a-terminal"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo.url, "path": "guestbook", "targetRevision": "main"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "t"},
                    "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
                },
            },
        )
        client.post("/api/v1/applications/on-a-terminal/sync", "sync on-a-terminal", {})
    terminal = Terminal(config, "app", "wait", "on-a-terminal", "--timeout", "60")
    try:
        output = terminal.read_until("reached the wanted state")
    finally:
        code = terminal.close()
    assert code == 0
    assert "Name:" in output
    assert "argocd/on-a-terminal" in output
    assert "guestbook-ui" in output
    assert "on-a-terminal: sync" not in output  # no plain progress lines on a terminal
