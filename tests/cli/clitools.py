"""Helpers of the CLI tests: the ``tether`` command as a subprocess, and golden files.

Every CLI test runs the installed ``tether`` executable with its own config file
(``TETHER_CONFIG``) and stdin that is not a terminal.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TETHER = Path(sys.executable).with_name("tether")
TESTDATA = Path(__file__).parents[2] / "testdata" / "cli"
GOLDEN = TESTDATA / "golden"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_until(process: subprocess.Popen[str], marker: str, seconds: float) -> str:
    """Read the process's stdout (bounded in time) until ``marker`` appears."""
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
        time.sleep(0.05)
    raise AssertionError(f"never saw {marker!r}; output: {seen}")


def stop(process: subprocess.Popen[str]) -> None:
    """Interrupt a started command as Ctrl-C would, and make sure it is gone."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Result:
    """What one ``tether`` invocation did."""

    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Tether:
    """A running ``tether up`` and what a user learns from its output."""

    url: str
    password: str
    kubeconfig: Path

    def run(
        self, *args: str, config: Path, env: Mapping[str, str] | None = None, timeout: float = 90
    ) -> Result:
        """Run ``tether ARGS`` with ``config`` as its config file and no terminal."""
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith("TETHER_") and k != "COLUMNS"
        }
        environment["TETHER_CONFIG"] = str(config)
        environment.update(env or {})
        done = subprocess.run(
            [str(TETHER), *args],
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def kubectl(self, *args: str) -> str:
        """Run the real kubectl against the cluster behind the server."""
        from tether.tools import find_tool

        done = subprocess.run(
            [str(find_tool("kubectl")), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout


def invoke(config: Path, *args: str, env: Mapping[str, str] | None = None) -> Result:
    """Run ``tether ARGS`` in-process on the real command tree (no interpreter start-up).

    stdin is not a terminal here either; the subprocess tests cover the executable.
    """
    from typer.testing import CliRunner

    from tether.cli.main import app

    environment = {"TETHER_CONFIG": str(config), **(env or {})}
    result = CliRunner().invoke(app, list(args), env=environment)
    return Result(result.exit_code, result.stdout, result.stderr)


@dataclass(frozen=True)
class GitRepo:
    """A bare repository (``url``, ``file://``) and the work tree that pushes to it."""

    url: str
    work_tree: Path

    head: str


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_DROPPED = {"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"}


def normalise_text(text: str, replacements: Mapping[str, str]) -> str:
    """``text`` with timestamps and the given run-specific values replaced."""
    for value, placeholder in sorted(replacements.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(value, placeholder)
    return _TIME.sub("<time>", text)


def normalise_json(text: str, replacements: Mapping[str, str]) -> str:
    """A JSON answer without server-assigned metadata, run-specific values replaced."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _DROPPED}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return normalise_text(json.dumps(strip(json.loads(text)), indent=2), replacements) + "\n"


def assert_golden(name: str, actual: str) -> None:
    """``actual`` equals ``testdata/cli/golden/NAME`` (``TETHER_UPDATE_GOLDEN=1`` rewrites it)."""
    path = GOLDEN / name
    if os.environ.get("TETHER_UPDATE_GOLDEN"):
        path.write_text(actual)
    assert actual == path.read_text(), f"{name} differs from its golden file"
