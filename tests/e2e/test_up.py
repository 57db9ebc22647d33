"""``tether up --demo`` as a user runs it: a real process tree, stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tether.tools import find_tool

TETHER = Path(sys.executable).with_name("tether")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_until(process: subprocess.Popen[str], marker: str, seconds: float) -> str:
    """Read stdout (bounded in time) until ``marker`` appears."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    os.set_blocking(descriptor, False)
    seen = ""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = os.read(descriptor, 65536).decode(errors="replace")
        except BlockingIOError:
            chunk = ""
        if chunk:
            seen += chunk
            if marker in seen:
                return seen
        elif process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"never saw {marker!r}; output: {seen}")


def test_up_demo_runs_the_apps_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(TETHER), "up", "--demo", "--data-dir", str(tmp_path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    children: list[psutil.Process] = []
    try:
        output = read_until(process, "press Ctrl-C to stop", 120)
        children = psutil.Process(process.pid).children(recursive=True)
        assert "admin password" in output
        assert "app root" in output
        listed = subprocess.run(
            [
                str(find_tool("kubectl")),
                "--kubeconfig",
                str(tmp_path / "kubeconfig"),
                "get",
                "applications",
                "-n",
                "argocd",
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        apps = {a["metadata"]["name"]: a["status"] for a in json.loads(listed.stdout)["items"]}
        # The demo's own states are the demo suite's business; here: the root app of
        # apps synced and fanned out.
        assert apps["root"]["sync"]["status"] == "Synced"
        assert len(apps) > 1
        # tether up logged the CLI in: the CLI talks to it with no further setup.
        listed_by_cli = subprocess.run(
            [str(TETHER), "app", "list", "-o", "name"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert "root" in listed_by_cli.stdout.split()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0
    time.sleep(0.5)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
