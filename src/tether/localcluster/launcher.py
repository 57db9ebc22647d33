"""Running a local cluster as a child process, for ``tether up``, tests and benchmarks.

:class:`LocalClusterProcess` starts ``tether local-cluster serve`` on a data folder,
waits (bounded) for its ready line, and exposes what a client needs: the kubeconfig,
base URL, bearer token and CA. It can stop the server cleanly, kill it (``kill -9``,
for crash tests), and start it again on the same folder and port.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1

#: The line the server prints on stdout once it accepts requests.
READY_LINE = "tether local cluster ready at"


class LaunchError(RuntimeError):
    """The server did not start; the message carries the end of its log."""


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, even by ``kill -9`` (Linux)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's clean shutdown still stops the server


def _tether_command() -> list[str]:
    script = Path(sys.executable).with_name("tether")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tether"]


@dataclass
class LocalClusterProcess:
    """One ``tether local-cluster serve`` child process."""

    data_dir: Path
    port: int = 0
    extra_args: tuple[str, ...] = ()
    start_timeout: float = 30.0
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    base_url: str = ""

    @property
    def kubeconfig(self) -> Path:
        """The kubeconfig the server wrote (context ``tether-local``)."""
        return self.data_dir / "kubeconfig"

    @property
    def token(self) -> str:
        """The bearer token clients authenticate with."""
        return (self.data_dir / "token").read_text().strip()

    @property
    def ca_path(self) -> Path:
        """The CA certificate that signed the serving certificate."""
        return self.data_dir / "ca.crt"

    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header a raw HTTP client sends."""
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> LocalClusterProcess:
        """Start the server and wait for it to be ready (at most ``start_timeout`` s)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            *_tether_command(),
            "local-cluster",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            *self.extra_args,
        ]
        with (self.data_dir / "server.log").open("a") as log:
            # Its own session: a Ctrl-C meant for the parent must not stop the server
            # before the parent has shut down what uses it; the parent stops it last.
            self.process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.base_url = self._await_ready()
        self.port = int(self.base_url.rsplit(":", 1)[1])
        return self

    def _await_ready(self) -> str:
        assert self.process is not None
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)
        deadline = time.monotonic() + self.start_timeout
        seen = ""
        while time.monotonic() < deadline:
            chunk = self.process.stdout.readline()
            if chunk:
                seen += chunk
                if READY_LINE in seen:
                    return seen.split(READY_LINE, 1)[1].split()[0]
            elif self.process.poll() is not None:
                break
            else:
                time.sleep(0.02)
        self.kill()
        log_tail = (self.data_dir / "server.log").read_text()[-2000:]
        raise LaunchError(f"failed to start the local cluster in {self.data_dir}: {log_tail}")

    def kill(self) -> None:
        """``kill -9``: no shutdown, no flush."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then wait for the clean shutdown (``kill -9`` after ``timeout``)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def restart(self) -> LocalClusterProcess:
        """Start again on the same folder and port (after :meth:`kill` or :meth:`stop`)."""
        return self.start()

    def __enter__(self) -> LocalClusterProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
