"""``tether server`` as a user runs it: a separate process on a loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def test_tether_server_command(local_cluster_session: Any, tmp_path: Any) -> None:
    """``tether server`` installs what it needs, serves, and stops on SIGTERM."""
    tether = Path(sys.executable).with_name("tether")
    process = subprocess.Popen(
        [
            str(tether),
            "server",
            "--kubeconfig",
            str(local_cluster_session.kubeconfig),
            "--port",
            "0",
            "--namespace",
            f"cli-{os.getpid()}",
        ],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "server.log").open("w"),
        text=True,
    )
    try:
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        deadline, line = time.monotonic() + 30, ""
        while time.monotonic() < deadline and "ready at" not in line:
            line += process.stdout.readline() or ""
            if process.poll() is not None:
                break
            time.sleep(0.05)
        assert "tether server ready at" in line, (tmp_path / "server.log").read_text()
        url = line.split("ready at", 1)[1].split()[0]
        version = httpx.get(f"{url}/api/version", timeout=10)
        assert version.status_code == 200
        assert version.json()["Version"]
        unauthenticated = httpx.get(f"{url}/api/v1/applications", timeout=10)
        assert unauthenticated.status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
